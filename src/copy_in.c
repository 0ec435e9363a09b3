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
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/copy_in.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <lz4frame.h>
#include <zstd.h>

#include "access/table.h"
#include "commands/copy.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "executor/executor.h"
#include "access/sysattr.h"
#include "storage/fd.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pg_bac.h"

#define BAC_COPY_IN_CHUNK	(256 * 1024)

/*
 * State of the file being read by the COPY data source callback.  COPY's
 * callback has no context argument, so this is static; only one data file
 * is read at a time per backend.
 */
typedef struct BacCopyInSource
{
	FILE	   *file;			/* AllocateFile'd, closed at abort too */
	const char *path;			/* for error messages */
	BacRestoreCompression compression;
	ZSTD_DCtx  *zstd;			/* malloc'd by libzstd */
	LZ4F_dctx  *lz4;			/* malloc'd by liblz4 */
	char	   *inbuf;			/* compressed bytes read from the file */
	size_t		inlen;			/* valid bytes in inbuf */
	size_t		inpos;			/* consumed bytes in inbuf */
	bool		eof;			/* the file has no more bytes */
	bool		frame_done;		/* the last compressed frame ended */
} BacCopyInSource;

static BacCopyInSource source;

/*
 * BacCopyInReleaseCodecs
 *		Free the decompression contexts (allocated outside PostgreSQL's
 *		memory contexts by the libraries).  Called before every load and
 *		after it, so an error in the middle leaks them only until the next
 *		load.
 */
static void
BacCopyInReleaseCodecs(void)
{
	if (source.zstd)
		ZSTD_freeDCtx(source.zstd);
	source.zstd = NULL;
	if (source.lz4)
		LZ4F_freeDecompressionContext(source.lz4);
	source.lz4 = NULL;
}

/*
 * BacCopyInFill
 *		Refill the compressed input buffer when it is used up.  Returns false
 *		at the end of the file.
 */
static bool
BacCopyInFill(void)
{
	if (source.inpos < source.inlen)
		return true;
	if (source.eof)
		return false;
	source.inlen = fread(source.inbuf, 1, BAC_COPY_IN_CHUNK, source.file);
	source.inpos = 0;
	if (source.inlen == 0)
	{
		if (ferror(source.file))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", source.path)));
		source.eof = true;
		return false;
	}
	return true;
}

/*
 * BacCopyInRead
 *		COPY data source callback: put between minread and maxread bytes of
 *		decompressed COPY text into outbuf; 0 means end of data.
 */
static int
BacCopyInRead(void *outbuf, int minread, int maxread)
{
	size_t		done = 0;

	CHECK_FOR_INTERRUPTS();

	while (done < (size_t) minread || done == 0)
	{
		if (source.compression == BAC_RESTORE_PLAIN)
		{
			size_t		n = fread((char *) outbuf + done, 1, maxread - done,
								  source.file);

			if (n == 0)
			{
				if (ferror(source.file))
					ereport(ERROR,
							(errcode_for_file_access(),
							 errmsg("could not read file \"%s\": %m",
									source.path)));
				break;
			}
			done += n;
		}
		else if (source.compression == BAC_RESTORE_ZSTD)
		{
			ZSTD_inBuffer in;
			ZSTD_outBuffer out;
			size_t		ret;

			if (!BacCopyInFill())
			{
				if (!source.frame_done)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("zstd data file \"%s\" ends in the middle of a frame",
									source.path)));
				break;
			}
			in.src = source.inbuf;
			in.size = source.inlen;
			in.pos = source.inpos;
			out.dst = outbuf;
			out.size = maxread;
			out.pos = done;
			ret = ZSTD_decompressStream(source.zstd, &out, &in);
			if (ZSTD_isError(ret))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("could not decompress zstd data file \"%s\": %s",
								source.path, ZSTD_getErrorName(ret))));
			source.frame_done = (ret == 0);
			source.inpos = in.pos;
			done = out.pos;
		}
		else
		{
			size_t		dstsize = maxread - done;
			size_t		srcsize;
			size_t		ret;

			if (!BacCopyInFill())
			{
				if (!source.frame_done)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("lz4 data file \"%s\" ends in the middle of a frame",
									source.path)));
				break;
			}
			srcsize = source.inlen - source.inpos;
			ret = LZ4F_decompress(source.lz4, (char *) outbuf + done, &dstsize,
								  source.inbuf + source.inpos, &srcsize, NULL);
			if (LZ4F_isError(ret))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("could not decompress lz4 data file \"%s\": %s",
								source.path, LZ4F_getErrorName(ret))));
			source.frame_done = (ret == 0);
			source.inpos += srcsize;
			done += dstsize;
		}
		if (done >= (size_t) maxread)
			break;
	}
	return (int) done;
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
 * rows loaded.
 */
uint64
BacCopyIn(Oid relid, const char *path, BacRestoreCompression compression,
		  const char *encoding, bool freeze, bool *frozen)
{
	Relation	rel;
	ParseState *pstate;
	CopyFromState cstate;
	List	   *options = NIL;
	uint64		rows;
	ParseNamespaceItem *nsitem;
	int			attno;

	BacCopyInReleaseCodecs();
	memset(&source, 0, sizeof(source));
	source.path = path;
	source.compression = compression;
	source.frame_done = true;
	source.file = AllocateFile(path, PG_BINARY_R);
	if (source.file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open snapshot data file \"%s\": %m", path)));
	if (compression != BAC_RESTORE_PLAIN)
		source.inbuf = palloc(BAC_COPY_IN_CHUNK);
	if (compression == BAC_RESTORE_ZSTD)
	{
		source.zstd = ZSTD_createDCtx();
		if (source.zstd == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory creating a zstd decompression context")));
		source.frame_done = false;
	}
	else if (compression == BAC_RESTORE_LZ4)
	{
		size_t		ret = LZ4F_createDecompressionContext(&source.lz4,
														  LZ4F_VERSION);

		if (LZ4F_isError(ret))
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create an lz4 decompression context: %s",
							LZ4F_getErrorName(ret))));
		source.frame_done = false;
	}

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
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, BacCopyInRead,
						   NIL, options);
	rows = CopyFrom(cstate);
	EndCopyFrom(cstate);
	free_parsestate(pstate);
	table_close(rel, NoLock);

	/* every byte of the file must have been consumed */
	if (compression != BAC_RESTORE_PLAIN &&
		(source.inpos < source.inlen || !source.frame_done))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot data file \"%s\" has data after the end of the copy data",
						path)));

	FreeFile(source.file);
	source.file = NULL;
	if (source.inbuf)
		pfree(source.inbuf);
	BacCopyInReleaseCodecs();
	return rows;
}
