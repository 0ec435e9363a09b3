/*-------------------------------------------------------------------------
 *
 * copy_in.c
 *		Load one snapshot data file into a table through COPY FROM,
 *		decompressing zstd or lz4 files on the fly.
 *
 * The data files of a snapshot are in COPY text format, optionally
 * compressed as one zstd frame stream (.zst) or one lz4 frame stream
 * (.lz4).  The server's own COPY machinery (BeginCopyFrom/CopyFrom) reads
 * them through a data source callback, so every row goes through the same
 * input functions, constraints and index maintenance as a COPY command.
 * The callback reads the file through datafile.c's BacDataReader, which
 * decompresses and refuses truncated frames and trailing bytes.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/copy_in.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "commands/copy.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "executor/executor.h"
#include "access/sysattr.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pg_bac.h"

/*
 * The data file being read by the COPY data source callback.  COPY's
 * callback has no context argument, so this is static; only one data file
 * is read at a time per backend.
 */
static BacDataReader *bac_copy_in_reader = NULL;

/*
 * CopyInRead
 *		COPY data source callback: put between minread and maxread bytes of
 *		decompressed COPY text into outbuf; 0 means end of data.
 */
static int
CopyInRead(void *outbuf, int minread, int maxread)
{
	size_t		done = 0;

	CHECK_FOR_INTERRUPTS();

	while (done < (size_t) minread || done == 0)
	{
		size_t		n = BacDataReaderRead(bac_copy_in_reader,
										  (char *) outbuf + done,
										  maxread - done);

		if (n == 0)
			break;
		done += n;
		if (done >= (size_t) maxread)
			break;
	}
	return (int) done;
}

/*
 * CopyInLoad
 *		Run COPY FROM into relation relid, reading bac_copy_in_reader.
 *		See BacCopyIn for the arguments.
 */
static uint64
CopyInLoad(Oid relid, const char *encoding, bool freeze, bool *frozen)
{
	Relation	rel;
	ParseState *pstate;
	CopyFromState cstate;
	List	   *options = NIL;
	uint64		rows;
	ParseNamespaceItem *nsitem;
	int			attno;

	/*
	 * COPY FREEZE needs the same conditions CopyFrom checks; test them here
	 * so a restore called from inside a query (where an outer snapshot is
	 * registered) still works, only without freezing.
	 */
	InvalidateCatalogSnapshot();
	*frozen = freeze && ThereAreNoPriorRegisteredSnapshots() &&
		ThereAreNoReadyPortals();
	if (*frozen)
		options = lappend(options, makeDefElem("freeze",
											   (Node *) makeBoolean(true), -1));
	if (encoding != NULL)
		options = lappend(options, makeDefElem("encoding",
											   (Node *) makeString(pstrdup(encoding)),
											   -1));

	rel = table_open(relid, RowExclusiveLock);
	pstate = make_parsestate(NULL);

	/* COPY's executor state needs the table in a range table, as DoCopy does */
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock,
										   NULL, false, false);
	nsitem->p_rte->requiredPerms = ACL_INSERT;
	for (attno = 1; attno <= RelationGetDescr(rel)->natts; attno++)
		if (!TupleDescAttr(RelationGetDescr(rel), attno - 1)->attisdropped)
			nsitem->p_rte->insertedCols =
				bms_add_member(nsitem->p_rte->insertedCols,
							   attno - FirstLowInvalidHeapAttributeNumber);
	ExecCheckRTPerms(pstate->p_rtable, true);
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, CopyInRead,
						   NIL, options);
	rows = CopyFrom(cstate);
	EndCopyFrom(cstate);
	free_parsestate(pstate);
	table_close(rel, NoLock);
	return rows;
}

/*
 * BacCopyIn
 *		Load the COPY text file at path into relation relid, which the
 *		caller has created (and locked) in the current transaction.
 *
 * freeze asks for COPY FREEZE; it is only used when the server allows it
 * (the table was created in the current subtransaction and no older
 * snapshot is registered), *frozen tells whether it was.  encoding, if not
 * NULL, is the encoding the file was written in.  Returns the number of
 * rows loaded.  The file is closed (and its decompressor freed) on error
 * too.
 */
uint64
BacCopyIn(Oid relid, const char *path, BacCompression compression,
		  const char *encoding, bool freeze, bool *frozen)
{
	BacDataReader *reader;
	volatile uint64 rows = 0;

	reader = BacDataReaderOpen(path, compression);
	bac_copy_in_reader = reader;
	PG_TRY();
	{
		rows = CopyInLoad(relid, encoding, freeze, frozen);

		/* every byte of the file must have been consumed */
		BacDataReaderCheckEnd(reader);
	}
	PG_FINALLY();
	{
		bac_copy_in_reader = NULL;
		BacDataReaderClose(reader);
	}
	PG_END_TRY();
	return rows;
}
