# pg_bac/Makefile

MODULE_big = pg_bac
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
PGFILEDESC = "pg_bac - consistent backups for microservices sharing one database"

EXTENSION = pg_bac
DATA = $(wildcard pg_bac--*.sql)

# pg_regress: sql/*.sql, expected/*.out, run in name order
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --dbname=contrib_regression

# isolationtester: test/isolation/specs/*.spec
ISOLATION = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=output_iso \
	--dbname=isolation_regression

# TAP tests (PostgreSQL::Test::Cluster): test/t/*.pl
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))
PROVE_FLAGS = -I ./test/perl

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers
SHLIB_LINK = -lzstd -llz4

EXTRA_CLEAN = output_iso results regression.diffs regression.out tmp_check log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies here: every object depends on every
# header of src/, so a changed header rebuilds what includes it
$(OBJS) $(OBJS:.o=.bc): $(wildcard src/*.h)

# Suites one at a time, each against the server named by PGHOST/PGPORT.
.PHONY: installcheck-regress installcheck-isolation installcheck-pgtap \
	installcheck-tap test demo bench stress

installcheck-regress:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-isolation:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)

installcheck-pgtap:
	bash test/pgtap.sh

installcheck-tap:
	$(prove_installcheck)

# Everything, from a fresh machine: installs what is missing, builds,
# installs, runs every suite against throw-away clusters.
test:
	bash test/run-tests.sh

demo:
	bash test/demo.sh

bench:
	bash test/bench.sh

# The long variants (crash moments, cancels, soak, fuzzing, thousands of
# random seeds); see test/stress.sh.
stress:
	bash test/stress.sh
