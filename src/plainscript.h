/*-------------------------------------------------------------------------
 *
 * plainscript.h
 *		<service directory>/restore.sql, a psql script that needs no pg_bac.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/plainscript.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BAC_PLAINSCRIPT_H
#define BAC_PLAINSCRIPT_H

#include "manifest.h"

extern char *BacPlainScriptText(BacManifest *m, BacManifestService *svc,
								const char *pre_data);
extern void BacWritePlainScripts(BacManifest *m, const char *dir);

#endif							/* BAC_PLAINSCRIPT_H */
