/*-------------------------------------------------------------------------
 *
 * restore.h
 *		Private state of the restore: what restore.c (the driver),
 *		restore_script.c (the captured scripts), restore_schema.c (locks,
 *		schema commands, loading) and report.c (the consequences report)
 *		share.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BAC_RESTORE_H
#define BAC_RESTORE_H

#include "funcapi.h"

#include "manifest.h"

/* on_broken_links */
typedef enum BacOnBroken
{
	BAC_BROKEN_WARN,
	BAC_BROKEN_ERROR,
	BAC_BROKEN_IGNORE
} BacOnBroken;

/* missing_roles */
typedef enum BacMissingRoles
{
	BAC_ROLES_ERROR,
	BAC_ROLES_CURRENT_USER
} BacMissingRoles;

/* one service to restore */
typedef struct RestoreService
{
	BacManifestService *ms;		/* the service as the manifest has it */
	char	   *target;			/* schema to restore into */
	Oid			live_nsp;		/* schema now bearing the service's name, or
								 * InvalidOid */
	char	   *live_name;		/* its name (the compared "current" data) */
	Oid			live_owner;		/* its owner */
	char	   *aside;			/* in place: name the live schema moved to */
	char	   *pre_sql;		/* the scripts, read and parsed before any
								 * change */
	char	   *post_sql;
	List	   *pre_stmts;		/* RawStmt * */
	List	   *post_stmts;
} RestoreService;

/* one restore, from the arguments to the report */
typedef struct RestoreState
{
	BacManifest *manifest;		/* read once, checked against its checksum */
	List	   *services;		/* RestoreService *, in restore order */
	char	   *into_schema;	/* NULL: in place */
	bool		keep_previous;
	bool		dry_run;
	BacOnBroken on_broken;
	BacMissingRoles missing_roles;
	Tuplestorestate *ts;		/* the report's rows */
	TupleDesc	desc;
	int64		broken;			/* broken links the report found */
	struct BacReplayTarget *pitr_target;	/* restore to an instant: the
											 * archive is replayed up to it
											 * after the build (else NULL) */
} RestoreState;

/* restore.c: the phases the entry points of restore_pitr.c share */
extern int	RestoreBegin(RestoreState *st, const char *snapshot_id);
extern void RestoreEnd(int nestlevel);
extern void RestoreServices(RestoreState *st);
extern void RestoreOneService(RestoreState *st, const char *snapshot_id,
							  const char *service);
extern RestoreService *RestoreNewService(BacManifestService *ms);
extern char *RestoreArgText(FunctionCallInfo fcinfo, int n, const char *what);
extern void RestoreArgOptions(FunctionCallInfo fcinfo, int first,
							  RestoreState *st);
extern List *RestoreNamedServices(BacManifest *m, ArrayType *arr);

/* restore_pitr.c: restore to an instant */
extern void RestoreReplayTo(RestoreState *st);

/* restore_script.c */
extern void RestoreReadScripts(RestoreState *st, RestoreService *svc);
extern void RestoreCheckRoles(RestoreState *st);
extern void RestoreRunScript(RestoreService *svc, const char *section,
							 const char *sql, List *stmts,
							 BacMissingRoles mr);
extern int	RestoreRunStatements(RestoreService *svc, const char *section,
								 const char *sql, List *stmts,
								 BacMissingRoles mr);
extern void RestoreNoticeSkipped(RestoreService *svc, const char *section,
								 int skipped);

/* restore_order.c */
extern bool RestoreHasOrder(RestoreState *st);
extern void RestoreRunInOrder(RestoreState *st, bool post);
extern void RestoreCheckExtensions(RestoreState *st);
extern void RestoreMoveExtensions(RestoreState *st, RestoreService *svc);
extern void RestoreCheckOtherDatabase(RestoreState *st);

/* restore_schema.c */
extern void RestoreLockSchema(Oid nspoid, const char *name);
extern void RestoreCheckForeignDependents(List *services);
extern char *RestoreAsideName(const char *schema, const char *snapshot_id,
							  bool keep_previous);
extern void RestoreBecomeAdmin(void);
extern void RestoreSchemaCommand(const char *sql, bool as_admin);
extern void RestoreLoadData(BacManifest *m, RestoreService *svc);

/* report.c */
extern int64 RestoreReport(List *services, Tuplestorestate *ts,
						   TupleDesc desc);

#endif							/* BAC_RESTORE_H */
