/*-------------------------------------------------------------------------
 *
 * export.h
 *		State shared by bac.export (export.c), its options (export_filter.c)
 *		and bac.export_group (export_group.c).
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/export.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BAC_EXPORT_H
#define BAC_EXPORT_H

#include "nodes/pg_list.h"

#include "manifest.h"
#include "pg_bac.h"


/* pg_dump's -s, -a, -O, -x */
typedef struct ExportOptions
{
	bool		schema_only;
	bool		data_only;
	bool		no_owner;
	bool		no_privileges;
} ExportOptions;

/* one piece of the script: literal text, or a data file */
typedef struct ExportStep
{
	char	   *text;			/* lines to return, or NULL */
	char	   *path;			/* absolute path of a data file, or NULL */
	char	   *table;			/* its table (for bac.progress) */
	bool		last;			/* the table's last data file */
} ExportStep;

/* what survives between calls */
typedef struct ExportState
{
	List	   *steps;			/* ExportStep *, in script order */
	int			next_step;		/* index of the step after the current one */
	int			src_encoding;	/* encoding of the snapshot's text */
	BacCompression compression;

	/* current literal text step */
	char	   *text;			/* NULL when none */
	char	   *text_pos;

	/* current data file step */
	BacDataReader *reader;		/* NULL when none */
	char	   *path;
	StringInfoData buf;			/* bytes read but not yet returned */
	int			buf_pos;		/* start of the next line in buf */
	bool		eof;
	bool		last;			/* the current file is its table's last */
	int64		lines;
} ExportState;

/* export.c */
extern char *ExportToServer(const char *s, int len, int src_encoding);
extern List *ExportScriptTables(const char *sql);
extern char *ExportCopyStatement(const char *schema, const char *table,
								 List *tables);
extern void ExportAddText(List **steps, char *text);
extern char *ExportComment(const char *text);
extern void ExportSnapshotComments(StringInfo s, BacManifest *m,
								   bool with_label);
extern void ExportCheckPrivilege(BacManifest *m, BacManifestService *svc);
extern void ExportReadFormat(ExportState *st, BacManifest *m);

/* export_filter.c */
extern char *ExportFilterScript(const char *sql, const ExportOptions *opt);
extern List *ExportForeignKeyOrder(List *tables, const char *pre,
								   const char *post);

/* export_group.c */
extern ExportState *ExportPrepareGroup(const char *snapshot_id,
									   ArrayType *names);

#endif							/* BAC_EXPORT_H */
