/*-------------------------------------------------------------------------
 *
 * report_xmin.h
 *		The consequences report's row counts from the rows' xmin
 *		(report_xmin.c).
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/report_xmin.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BAC_REPORT_XMIN_H
#define BAC_REPORT_XMIN_H

#include "access/transam.h"
#include "storage/itemptr.h"

#include "manifest.h"

extern void BacXminPrepare(BacManifest *m);
extern bool BacXminCountRows(Oid curid, Oid newid, int64 restored_rows,
							 int64 *discarded, int64 *back,
							 ItemPointerData **changed, int64 *nchanged);
extern Oid	BacTypeNamespace(Oid typid);

#endif							/* BAC_REPORT_XMIN_H */
