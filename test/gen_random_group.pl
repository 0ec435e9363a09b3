#!/usr/bin/perl
# test/gen_random_group.pl - a random group of service schemas that depend
# on each other in both directions, from a seed, for the randomized group
# fidelity test (test/t/024_ddl_random_group.pl).
#
#   perl test/gen_random_group.pl SEED [EXTENSION ...]
#
# prints SQL that creates 2 to 4 schemas g<SEED>_<i> with domains, enums,
# composite types, tables, overloaded functions, an aggregate over an
# overloaded function, overloaded operators, views, trigger functions and
# triggers, foreign keys, and a few rows, where every kind of object may
# use the objects of any other schema of the group (both directions).
# Each EXTENSION named (citext, hstore, ltree, pgcrypto, seg, isn) is
# installed into one of the group's schemas and used from others: a
# database can hold an extension once, so the caller hands each extension
# to one seed of a batch.  The same arguments always give the same SQL.
use strict;
use warnings;

my $seed = shift // die "usage: $0 SEED [EXTENSION ...]\n";
my @extensions = @ARGV;

# a small LCG of our own, so that a seed means the same on every Perl
my $state = ($seed * 2246822519 + 40503) % 4294967296;
sub rnd
{
	my ($n) = @_;
	$state = ($state * 1103515245 + 12345) % 2147483648;
	return int(($state / 2147483648) * $n);
}
sub chance { return rnd(1000) < $_[0] * 1000; }
sub pick { return $_[ rnd(scalar @_) ]; }
sub ql { my ($s) = @_; $s =~ s/'/''/g; return "'$s'"; }

my $nschemas = 2 + rnd(3);
my @schemas = map { "g${seed}_$_" } 1 .. $nschemas;
my @out;
sub emit { push @out, @_; }
my $uniq = 0;
sub newname { my ($p) = @_; $uniq++; return "${p}$uniq"; }
sub q2 { my ($s, $n) = @_; return "$s.$n"; }

emit("CREATE SCHEMA $_;") for @schemas;

# extensions: each in one schema of the group; a column type or a
# function other schemas use
my @ext_types;      # [qualified type, value]
my @ext_exprs;      # expressions over an integer column x
my %ext_use = (
	citext => sub { push @ext_types, [ "$_[0].citext", "'MiXeD'" ]; },
	hstore => sub { push @ext_types, [ "$_[0].hstore", "'a=>1'" ]; },
	ltree => sub { push @ext_types, [ "$_[0].ltree", "'top.mid'" ]; },
	seg => sub { push @ext_types, [ "$_[0].seg", "'1 .. 2'" ]; },
	isn => sub { push @ext_types, [ "$_[0].isbn", "'978-0-306-40615-7'" ]; },
	pgcrypto => sub {
		push @ext_exprs, "$_[0].digest(x::text, 'sha256')";
	},
);
for my $e (@extensions)
{
	die "unknown extension $e\n" unless $ext_use{$e};
	my $s = pick(@schemas);
	emit("CREATE EXTENSION $e SCHEMA $s;");
	$ext_use{$e}->($s);
}

# per schema: types
my (@domains, @enums, @comps);
for my $s (@schemas)
{
	my $d = q2($s, newname('dom'));
	emit("CREATE DOMAIN $d AS integer CHECK (VALUE >= 0);");
	push @domains, $d;
	if (chance(0.6))
	{
		my $en = q2($s, newname('mood'));
		emit("CREATE TYPE $en AS ENUM ('sad', 'ok', 'happy');");
		push @enums, $en;
	}
	if (chance(0.5))
	{
		# a composite type over a domain of another schema
		my $c = q2($s, newname('pair'));
		emit("CREATE TYPE $c AS (a " . pick(@domains) . ", b text);");
		push @comps, $c;
	}
}

# per schema: tables, with columns of any schema's types
my @tables;    # { name, schema, cols => [[name, type, value]] }
for my $s (@schemas)
{
	for (1 .. 1 + rnd(2))
	{
		my $t = q2($s, newname('t'));
		my @cols = ([ 'id', 'integer', undef ]);
		push @cols, [ newname('d'), pick(@domains), sub { rnd(50) } ];
		push @cols, [ newname('e'), pick(@enums), sub { ql(pick('sad', 'ok', 'happy')) } ]
		  if @enums && chance(0.6);
		push @cols, [ newname('c'), pick(@comps), sub { "ROW(" . rnd(9) . ", 'x')" } ]
		  if @comps && chance(0.4);
		for my $et (@ext_types)
		{
			push @cols, [ newname('x'), $et->[0], sub { $et->[1] } ] if chance(0.5);
		}
		push @cols, [ 'ref', 'integer', undef ];
		emit("CREATE TABLE $t (" . join(', ',
				map { "$_->[0] $_->[1]" . ($_->[0] eq 'id' ? ' PRIMARY KEY' : '') } @cols)
			  . ");");
		push @tables, { name => $t, schema => $s, cols => \@cols };
	}
}

# overloaded functions: the same name with several argument types in one
# schema, and again in another; plus an aggregate whose state function is
# one of the overloads, and overloaded operators
my @funcs;    # [qualified name, arg type]
for my $s (@schemas)
{
	my $fn = newname('f');
	for my $ty ('integer', 'text', pick(@domains))
	{
		emit("CREATE FUNCTION $s.$fn(v $ty) RETURNS integer LANGUAGE sql IMMUTABLE AS "
			  . ql("SELECT length(v::text)") . ";");
	}
	push @funcs, [ "$s.$fn", 'integer' ];
	if (chance(0.5))
	{
		my $t = pick(@tables);
		emit("CREATE FUNCTION $s.$fn(v $t->{name}) RETURNS integer LANGUAGE sql IMMUTABLE AS "
			  . ql("SELECT v.id") . ";");
	}
	if (chance(0.6))
	{
		# acc(state, anyelement) and acc(state, table row): regproc output
		# would qualify "acc" in the aggregate
		my $dom = pick(@domains);
		my $acc = newname('acc');
		my $t = pick(@tables);
		emit("CREATE FUNCTION $s.$acc(st $dom, v anyelement) RETURNS $dom LANGUAGE sql IMMUTABLE AS "
			  . ql("SELECT (st + 1)") . ";");
		emit("CREATE FUNCTION $s.$acc(st $dom, v $t->{name}) RETURNS $dom LANGUAGE sql IMMUTABLE AS "
			  . ql("SELECT (st + 2)") . ";");
		emit("CREATE AGGREGATE $s." . newname('agg') . "(anyelement) (SFUNC = $s.$acc, STYPE = $dom, INITCOND = '0');");
	}
	if (chance(0.6))
	{
		my $t = pick(@tables);
		my $plus = newname('plus');
		emit("CREATE FUNCTION $s.$plus(a $t->{name}, b $t->{name}) RETURNS integer LANGUAGE sql AS "
			  . ql('SELECT $1.id + $2.id') . ";");
		emit("CREATE FUNCTION $s.$plus(a integer, b $t->{name}) RETURNS integer LANGUAGE sql AS "
			  . ql('SELECT $1 + $2.id') . ";");
		emit("CREATE OPERATOR $s.### (FUNCTION = $s.$plus, LEFTARG = $t->{name}, RIGHTARG = $t->{name});");
		emit("CREATE OPERATOR $s.### (FUNCTION = $s.$plus, LEFTARG = integer, RIGHTARG = $t->{name});");
	}
}

# functions whose signature crosses schemas: a table of one schema
# returned by a function of another
for (1 .. rnd(3))
{
	my $s = pick(@schemas);
	my $t = pick(@tables);
	emit("CREATE FUNCTION $s." . newname('rows') . "(n " . pick(@domains)
		  . ") RETURNS SETOF $t->{name} LANGUAGE sql STABLE AS "
		  . ql("SELECT * FROM $t->{name} WHERE id <= n") . ";");
}

# trigger functions in one schema, triggers on tables of another
my @trigfns;
for my $s (@schemas)
{
	next unless chance(0.6);
	my $fn = "$s." . newname('trg');
	emit("CREATE FUNCTION $fn() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;");
	push @trigfns, $fn;
}

# a few rows; references point at existing ids
my %ids;
for my $t (@tables)
{
	my @ids = map { $_ } 1 .. rnd(4);
	$ids{ $t->{name} } = \@ids;
	for my $id (@ids)
	{
		my @vals = map {
			$_->[0] eq 'id' ? $id : $_->[0] eq 'ref' ? 'NULL' : $_->[2]->()
		} @{ $t->{cols} };
		emit("INSERT INTO $t->{name} VALUES (" . join(', ', @vals) . ");");
	}
}

# foreign keys in both directions (and set their ref where possible)
for my $t (@tables)
{
	next unless chance(0.7);
	my $target = pick(grep { $_->{schema} ne $t->{schema} } @tables) // next;
	emit("ALTER TABLE $t->{name} ADD CONSTRAINT " . newname('fk')
		  . " FOREIGN KEY (ref) REFERENCES $target->{name}"
		  . (chance(0.3) ? " DEFERRABLE" : "") . ";");
	if (@{ $ids{ $target->{name} } } && @{ $ids{ $t->{name} } })
	{
		emit("UPDATE $t->{name} SET ref = " . $ids{ $target->{name} }->[0] . ";");
	}
}

# views: each reads tables, functions and views of other schemas, so views
# of A over B and views of B over A's views both appear
my @views;
for my $round (1 .. 2)
{
	for my $s (@schemas)
	{
		next unless chance(0.7);
		my $v = "$s." . newname('v');
		my $t = pick(@tables);
		my @sel = ("t.id");
		push @sel, "$funcs[rnd(scalar @funcs)][0](t.id) AS fx";
		push @sel, "t.id OPERATOR($s.###) t AS op"
		  if grep { /^CREATE OPERATOR \Q$s\E\.### .* RIGHTARG = \Q$t->{name}\E\);$/ && /LEFTARG = integer/ } @out;
		push @sel, map { (my $e = $_) =~ s/\bx\b/t.id/g; "$e AS h" . $uniq++ } @ext_exprs;
		my $from = "$t->{name} t";
		if (@views && chance(0.6))
		{
			my $w = pick(@views);
			$from .= " LEFT JOIN $w w ON w.id = t.id";
			push @sel, "w.id AS wid";
		}
		emit("CREATE VIEW $v AS SELECT " . join(', ', @sel) . " FROM $from;");
		push @views, $v;
	}
}

# triggers: tables of one schema, functions of another
for my $t (@tables)
{
	next unless @trigfns && chance(0.5);
	emit("CREATE TRIGGER " . newname('tg') . " BEFORE INSERT OR UPDATE ON $t->{name}"
		  . " FOR EACH ROW EXECUTE FUNCTION " . pick(@trigfns) . "();");
}

# a check constraint calling an overloaded function of another schema
for my $t (@tables)
{
	next unless chance(0.3);
	my $f = pick(@funcs);
	emit("ALTER TABLE $t->{name} ADD CONSTRAINT " . newname('chk')
		  . " CHECK ($f->[0](id) >= 0);");
}

print join("\n", @out), "\n";
