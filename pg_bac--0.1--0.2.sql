/* pg_bac--0.1--0.2.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION pg_bac UPDATE TO '0.2'" to load this file. \quit

-- Every object is schema-qualified, as in pg_bac--0.1.sql.  Each feature
-- of 0.2 adds its objects in a section of its own below.
