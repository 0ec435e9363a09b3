/*-------------------------------------------------------------------------
 *
 * pitr_info.c
 *		bac.pitr_transactions(): what the change archive holds, one row per
 *		archived transaction, read from the segments.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/pitr_info.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"

#include "pg_bac.h"
#include "pitr.h"

/* one archived transaction, as it is being read */
typedef struct InfoTxn
{
	BacChangeRecord begin;		/* its begin record */
	int64		changes;		/* insert, update, delete, truncate */
	int32		barriers;		/* DDL barriers */
	char	   *schemas;		/* comma-separated schemas it touched */
} InfoTxn;

/*
 * info_add_schema
 *		Remember a schema a transaction touched (once).
 */
static void
info_add_schema(InfoTxn *t, const char *schema, MemoryContext cxt)
{
	const char *q = quote_identifier(schema);
	const char *p = t->schemas;
	size_t		len = strlen(q);

	while (p && *p)
	{
		if (strncmp(p, q, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	t->schemas = t->schemas ? MemoryContextStrdup(cxt, psprintf("%s,%s", t->schemas, q))
		: MemoryContextStrdup(cxt, q);
}

/*
 * bac.pitr_transactions() RETURNS TABLE (xid xid8, commit_lsn pg_lsn,
 *		commit_at timestamptz, changes bigint, barriers int, schemas text,
 *		segment text)
 *		Every transaction of this database's change archive, in archive
 *		(commit) order, with the number of its changes and DDL barriers,
 *		the schemas it touched and the segment file it is in.
 */
PG_FUNCTION_INFO_V1(bac_pitr_transactions);
Datum
bac_pitr_transactions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext tmp;
	ListCell   *lc;
	InfoTxn		t = {0};
	bool		in_txn = false;

	BacRequireSuperuser("bac.pitr_transactions", "read the change archive");
	InitMaterializedSRF(fcinfo, 0);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pg_bac archive read",
								ALLOCSET_DEFAULT_SIZES);
	BacChangeArchiveHold();
	foreach(lc, BacListSegments(MyDatabaseId))
	{
		char	   *path = lfirst(lc);
		BacSegmentReader *r = BacSegmentReaderOpen(path);
		BacChangeRecord rec;
		MemoryContext old = MemoryContextSwitchTo(tmp);

		while (BacSegmentReadRecord(r, &rec))
		{
			CHECK_FOR_INTERRUPTS();
			if (rec.type == BAC_REC_BEGIN)
			{
				memset(&t, 0, sizeof(t));
				t.begin = rec;
				in_txn = true;
			}
			else if (rec.type == BAC_REC_RELATION && in_txn)
				info_add_schema(&t, rec.rel->schema, CurTransactionContext);
			else if (rec.type == BAC_REC_BARRIER && in_txn)
				t.barriers++;
			else if (in_txn && (rec.type == BAC_REC_INSERT || rec.type == BAC_REC_UPDATE ||
								rec.type == BAC_REC_DELETE || rec.type == BAC_REC_TRUNCATE))
				t.changes++;
			else if (rec.type == BAC_REC_COMMIT && in_txn)
			{
				Datum		v[7];
				bool		n[7] = {0};

				v[0] = FullTransactionIdGetDatum(FullTransactionIdFromU64(t.begin.xid));
				v[1] = LSNGetDatum(t.begin.commit_lsn);
				v[2] = TimestampTzGetDatum(t.begin.commit_time);
				v[3] = Int64GetDatum(t.changes);
				v[4] = Int32GetDatum(t.barriers);
				v[5] = t.schemas ? CStringGetTextDatum(t.schemas) : (Datum) 0;
				n[5] = t.schemas == NULL;
				v[6] = CStringGetTextDatum(last_dir_separator(path) + 1);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
				in_txn = false;
				t.schemas = NULL;
			}
			MemoryContextReset(tmp);
		}
		MemoryContextSwitchTo(old);
		BacSegmentReaderClose(r);
	}
	return (Datum) 0;
}
