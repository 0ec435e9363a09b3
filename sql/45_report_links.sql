--
-- 45_report_links: the consequences report of a restore counts every kind
-- of link exactly as bac.check_links() does (links.c's one checker: the key
-- type's equality operator and collation, as a foreign key compares), and
-- bac.add_link accepts the column types a foreign key accepts.
--
SET client_min_messages = warning;

CREATE SCHEMA rl_ext;
CREATE EXTENSION citext SCHEMA rl_ext;

-- the keys: one table per kind of link
CREATE SCHEMA rl_key;
CREATE TABLE rl_key.coll (k text COLLATE "C" PRIMARY KEY);
INSERT INTO rl_key.coll VALUES ('a'), ('b');
CREATE TABLE rl_key.ci (k rl_ext.citext PRIMARY KEY);
INSERT INTO rl_key.ci VALUES ('X'), ('Z');
CREATE TABLE rl_key.big (k int8 PRIMARY KEY);
INSERT INTO rl_key.big VALUES (1), (2);
CREATE TABLE rl_key.txt (k text PRIMARY KEY);
INSERT INTO rl_key.txt VALUES ('a'), ('b');
CREATE TABLE rl_key.multi (a int, b text, PRIMARY KEY (a, b));
INSERT INTO rl_key.multi VALUES (1, 'a'), (2, 'b');
-- one column, the same type on both sides, an index on the referencing
-- column: the report finds the references a restore breaks through it
CREATE TABLE rl_key.plain (k int PRIMARY KEY);
INSERT INTO rl_key.plain VALUES (1), (2), (3);
CREATE TABLE rl_key.ptxt (k text PRIMARY KEY);
INSERT INTO rl_key.ptxt VALUES ('a'), ('b');
-- keys few rows refer to: a restore of the referencing service orphans
-- some (counted through this table's key)
CREATE TABLE rl_key.wide (k int PRIMARY KEY);
INSERT INTO rl_key.wide SELECT generate_series(1, 3000);

-- the references, each with one that is broken
CREATE SCHEMA rl_ref;
CREATE TABLE rl_ref.coll (k text COLLATE "POSIX");
INSERT INTO rl_ref.coll VALUES ('a'), ('x'), (NULL);
CREATE TABLE rl_ref.ci (k rl_ext.citext);
INSERT INTO rl_ref.ci VALUES ('x'), ('X'), ('y');
CREATE TABLE rl_ref.big (k int4);
INSERT INTO rl_ref.big VALUES (1), (3);
CREATE TABLE rl_ref.txt (k varchar(10));
INSERT INTO rl_ref.txt VALUES ('a'), ('z');
CREATE TABLE rl_ref.multi (a int, b text);
INSERT INTO rl_ref.multi VALUES (1, 'a'), (1, 'b'), (NULL, 'b');
CREATE TABLE rl_ref.plain (k int);
CREATE INDEX ON rl_ref.plain (k);
INSERT INTO rl_ref.plain VALUES (1), (1), (2), (4), (4), (NULL);
-- larger than the key table: the report reads it through its index
INSERT INTO rl_ref.plain SELECT 2 FROM generate_series(1, 2000);
CREATE TABLE rl_ref.ptxt (k text);
CREATE INDEX ON rl_ref.ptxt (k);
INSERT INTO rl_ref.ptxt VALUES ('a'), ('q');
CREATE TABLE rl_ref.few (k int);
INSERT INTO rl_ref.few VALUES (1), (2), (2);

SELECT bac.register_service('rl_key');
SELECT bac.register_service('rl_ref');

-- a foreign key accepts each of these pairs of types; so does add_link
SELECT bac.add_link('rl_coll', 'rl_ref.coll', '{k}', 'rl_key.coll', '{k}', orphans_matter => true);
SELECT bac.add_link('rl_ci', 'rl_ref.ci', '{k}', 'rl_key.ci', '{k}', orphans_matter => true);
SELECT bac.add_link('rl_big', 'rl_ref.big', '{k}', 'rl_key.big', '{k}', orphans_matter => true);
SELECT bac.add_link('rl_txt', 'rl_ref.txt', '{k}', 'rl_key.txt', '{k}', orphans_matter => true);
SELECT bac.add_link('rl_multi', 'rl_ref.multi', '{a,b}', 'rl_key.multi', '{a,b}', orphans_matter => true);
SELECT bac.add_link('rl_plain', 'rl_ref.plain', '{k}', 'rl_key.plain', '{k}', orphans_matter => true);
SELECT bac.add_link('rl_ptxt', 'rl_ref.ptxt', '{k}', 'rl_key.ptxt', '{k}', orphans_matter => true);
SELECT bac.add_link('rl_few', 'rl_ref.few', '{k}', 'rl_key.wide', '{k}', orphans_matter => true);
-- and refuses what a foreign key refuses
SELECT bac.add_link('rl_bad', 'rl_ref.big', '{k}', 'rl_key.txt', '{k}');

-- what check_links counts now
SELECT link, broken, orphaned, sample FROM bac.check_links('{rl_key}') ORDER BY link;

-- a snapshot of this very state, then the missing keys added: every
-- reference has a target before the restore, so the references the
-- restore breaks (an incoming link counts those, not the ones broken
-- before it) are exactly what check_links counts in the snapshot's state,
-- and the orphans are counted in the restored copy as check_links counts
-- them
SELECT snapshot_id AS snap FROM bac.snapshot('{rl_key,rl_ref}') \gset
CREATE TEMP TABLE rl_check AS
SELECT link::text, broken, orphaned FROM bac.check_links('{rl_key}');
INSERT INTO rl_key.coll VALUES ('x');
INSERT INTO rl_key.ci VALUES ('Y');
INSERT INTO rl_key.big VALUES (3);
INSERT INTO rl_key.txt VALUES ('z');
INSERT INTO rl_key.multi VALUES (1, 'b');
INSERT INTO rl_key.plain VALUES (4);
INSERT INTO rl_key.ptxt VALUES ('q');
SELECT link, broken FROM bac.check_links('{rl_key}') ORDER BY link;
CREATE TEMP TABLE rl_report AS
SELECT link::text, direction, broken, orphaned, detail
  FROM bac.restore(:'snap', 'rl_key', dry_run => true)
 WHERE direction <> 'rows';
SELECT r.link, r.direction, r.broken AS report_broken, c.broken AS check_broken,
	   r.orphaned AS report_orphaned, c.orphaned AS check_orphaned,
	   r.broken = c.broken AND r.orphaned = c.orphaned AS same
  FROM rl_report r FULL JOIN rl_check c USING (link)
 ORDER BY 1;
SELECT link, detail FROM rl_report ORDER BY 1;

-- the restore itself (not a dry run) goes through and counts the same,
-- which is what check_links counts after it
CREATE TEMP TABLE rl_report2 AS
SELECT link::text, broken, orphaned
  FROM bac.restore(:'snap', 'rl_key', keep_previous => false)
 WHERE direction <> 'rows';
SELECT r.link, r.broken = c.broken AND r.orphaned = c.orphaned AS same
  FROM rl_report2 r FULL JOIN bac.check_links('{rl_key}') c ON c.link = r.link
 ORDER BY 1;

-- restoring the same state again breaks nothing: the references broken
-- before the restore are not counted (check_links counts them)
SELECT link, direction, broken, orphaned
  FROM bac.restore(:'snap', 'rl_key', dry_run => true)
 WHERE direction <> 'rows' ORDER BY link;

-- into_schema: the report checks the restored copy in place of the live
-- tables; add a key after the snapshot that a reference finds, so that
-- live and copy differ: the copy breaks that reference
INSERT INTO rl_key.txt VALUES ('z');
INSERT INTO rl_key.plain VALUES (4);
SELECT link, broken FROM bac.check_links('{rl_key}') WHERE link IN ('rl_txt', 'rl_plain') ORDER BY link;
SELECT link, direction, broken, orphaned
  FROM bac.restore(:'snap', 'rl_key', into_schema => 'rl_key_copy', dry_run => true)
 WHERE link IN ('rl_txt', 'rl_plain') ORDER BY link;

-- a restore of the referencing service: an outgoing link's orphans are
-- the rows of the other service it orphans (referred to before it, by
-- nothing after it); its broken references are counted in the restored
-- copy.  Key 3 gets a reference after the snapshot, key 2 loses one of its
-- two: only key 3 is orphaned by the restore.
INSERT INTO rl_ref.few VALUES (3);
DELETE FROM rl_ref.few WHERE ctid = (SELECT min(ctid) FROM rl_ref.few WHERE k = 2);
SELECT link, broken, orphaned FROM bac.check_links('{rl_ref}') WHERE link = 'rl_few';
SELECT link, direction, broken, orphaned, detail
  FROM bac.restore(:'snap', 'rl_ref', dry_run => true)
 WHERE link IN ('rl_few', 'rl_plain') ORDER BY link;
-- the key table is larger than the referencing one: the orphans were
-- looked up through its key; into_schema counts the same
SELECT link, direction, broken, orphaned
  FROM bac.restore(:'snap', 'rl_ref', into_schema => 'rl_ref_copy', dry_run => true)
 WHERE link = 'rl_few';

-- clean up
SELECT bac.drop_link(l) FROM unnest('{rl_coll,rl_ci,rl_big,rl_txt,rl_multi,rl_plain,rl_ptxt,rl_few}'::text[]) l;
SELECT bac.unregister_service('rl_key');
SELECT bac.unregister_service('rl_ref');
SELECT bac.drop_snapshot(:'snap');
DROP SCHEMA rl_key, rl_ref CASCADE;
DROP EXTENSION citext;
DROP SCHEMA rl_ext;
RESET client_min_messages;
