/*-------------------------------------------------------------------------
 *
 * restore_post.h
 *		Faster post-data for a restore (restore_post.c).
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore_post.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BAC_RESTORE_POST_H
#define BAC_RESTORE_POST_H

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

extern bool BacPostIsForeignKey(RawStmt *raw, const char *one);
extern bool BacPostRunForeignKey(RawStmt *raw, const char *one,
								 List *restored);

#endif							/* BAC_RESTORE_POST_H */
