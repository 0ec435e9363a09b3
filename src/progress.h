/*-------------------------------------------------------------------------
 *
 * progress.h
 *		bac.progress: what each running pg_bac operation is doing, in
 *		shared memory, for other sessions to read.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/progress.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BAC_PROGRESS_H
#define BAC_PROGRESS_H

/* the operations bac.progress shows */
typedef enum BacProgressOp
{
	BAC_PROGRESS_SNAPSHOT,
	BAC_PROGRESS_RESTORE,
	BAC_PROGRESS_EXPORT,
	BAC_PROGRESS_VERIFY
} BacProgressOp;

/* bytes between two updates of bytes_done from inside a table's copy */
#define BAC_PROGRESS_BYTES_STEP	(4 * 1024 * 1024)

extern void BacProgressInit(void);
extern void BacProgressBegin(BacProgressOp op, const char *snapshot_id,
							 const char *services);
extern void BacProgressSnapshotId(const char *snapshot_id);
extern void BacProgressPhase(const char *phase);
extern void BacProgressTotals(int tables_total, int64 bytes_total);
extern void BacProgressTable(const char *table);
extern void BacProgressAdvance(int tables, int64 bytes);
extern void BacProgressAddService(const char *service);
extern void BacProgressVerified(int64 bytes);
extern void BacProgressEnd(void);

#endif							/* BAC_PROGRESS_H */
