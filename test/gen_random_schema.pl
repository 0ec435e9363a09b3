#!/usr/bin/perl
# test/gen_random_schema.pl - a random service schema from a seed, for the
# randomized DDL fidelity test (test/t/022_ddl_random.pl).
#
#   perl test/gen_random_schema.pl SEED [SCHEMA]
#
# prints SQL that creates schema SCHEMA (default rnd_SEED) with random
# types (enum, composite, domain, range), sequences, functions, tables
# (columns of many types, defaults, identity, generated columns, collations,
# NOT NULL, checks, keys, foreign keys, partitioning, inheritance, unlogged,
# storage parameters), indexes (unique, partial, expression, INCLUDE,
# opclass and order options), views, materialized views, triggers, rules,
# policies, statistics, comments, grants and a few rows.  The same seed
# always gives the same SQL.  Needs roles rnd_owner and rnd_reader.
use strict;
use warnings;

my $seed = shift // die "usage: $0 SEED [SCHEMA]\n";
my $schema = shift // "rnd_$seed";

# a small LCG of our own, so that a seed means the same on every Perl
my $state = ($seed * 2654435761 + 12345) % 4294967296;
sub rnd
{
	my ($n) = @_;
	$state = ($state * 1103515245 + 12345) % 2147483648;
	return int(($state / 2147483648) * $n);
}
sub chance { return rnd(1000) < $_[0] * 1000; }
sub pick { return $_[ rnd(scalar @_) ]; }

sub qi
{
	my ($n) = @_;
	return $n if $n =~ /^[a-z_][a-z0-9_]*$/ && !reserved($n);
	(my $q = $n) =~ s/"/""/g;
	return "\"$q\"";
}
sub reserved { return $_[0] =~ /^(select|from|table|user|order|group|check|default|primary)$/; }
sub ql { my ($s) = @_; $s =~ s/'/''/g; return "'$s'"; }

# awkward names: mixed case, spaces, quotes, reserved words, unicode
my @stems = ('id', 'name', 'Value', 'order', 'select', 'with space', 'q"uote',
	'ünïcode', 'data', 'MiXed', 'user', 'x', 'amount', 'created at', 'tag',
	'group', 'a$b', 'über', 'note', 'flag');
my $uniq = 0;
sub newname { my ($prefix) = @_; $uniq++; return pick(@stems) . "_${prefix}$uniq"; }

my @out;
sub emit { push @out, @_; }

emit("CREATE SCHEMA " . qi($schema) . (chance(0.5) ? " AUTHORIZATION rnd_owner" : "") . ";");
emit("SET search_path = " . qi($schema) . ";");
emit("COMMENT ON SCHEMA " . qi($schema) . " IS " . ql("random schema $seed") . ";") if chance(0.3);
emit("GRANT USAGE ON SCHEMA " . qi($schema) . " TO rnd_reader;") if chance(0.3);

# column types: [sql type, value generator]
my @types = (
	[ 'integer', sub { rnd(1000) } ],
	[ 'bigint', sub { rnd(100000) * 1000 } ],
	[ 'smallint', sub { rnd(100) } ],
	[ 'text', sub { ql(pick('a', "it's", "tab\there", 'ünï', 'x y', '"q"', '')) } ],
	[ 'character varying(20)', sub { ql('v' . rnd(100)) } ],
	[ 'numeric(10,2)', sub { rnd(10000) / 100 } ],
	[ 'boolean', sub { pick('true', 'false') } ],
	[ 'date', sub { ql(sprintf('2024-%02d-%02d', 1 + rnd(12), 1 + rnd(28))) } ],
	[ 'timestamp with time zone', sub { ql(sprintf('2024-01-01 %02d:00:00+00', rnd(24))) } ],
	[ 'jsonb', sub { ql('{"k": ' . rnd(10) . '}') } ],
	[ 'integer[]', sub { ql('{' . rnd(9) . ',' . rnd(9) . '}') } ],
	[ 'text[]', sub { ql('{a,"b c"}') } ],
	[ 'double precision', sub { rnd(1000) / 8 } ],
	[ 'uuid', sub { ql(sprintf('%08x-0000-4000-8000-%012x', rnd(1 << 30), rnd(1 << 30))) } ],
	[ 'bytea', sub { ql('\\x' . sprintf('%04x', rnd(65536))) } ],
	[ 'inet', sub { ql('10.0.0.' . rnd(255)) } ],
	[ 'interval', sub { ql(rnd(100) . ' minutes') } ],
);

# user types
my (@enums, @domains, @composites);
for (1 .. rnd(3))
{
	my $n = newname('enum');
	my @labels = map { "l$_" . pick('', ' x', "'q") } 1 .. 1 + rnd(4);
	emit("CREATE TYPE " . qi($n) . " AS ENUM (" . join(', ', map { ql($_) } @labels) . ");");
	push @enums, $n;
	push @types, [ qi($n), sub { ql(pick(@labels)) } ];
	emit("COMMENT ON TYPE " . qi($n) . " IS 'an enum';") if chance(0.3);
}
for (1 .. rnd(3))
{
	my $n = newname('dom');
	my $base = pick('integer', 'text', 'numeric(8,2)');
	my $check = $base eq 'text' ? "CHECK (VALUE <> 'zzz')" : "CHECK (VALUE >= 0)";
	emit("CREATE DOMAIN " . qi($n) . " AS $base"
		  . (chance(0.3) && $base ne 'text' ? " DEFAULT 1" : "")
		  . (chance(0.3) ? " NOT NULL" : "")
		  . ($base eq 'text' && chance(0.5) ? ' COLLATE "C"' : "")
		  . " CONSTRAINT " . qi(newname('dc')) . " $check;");
	emit("ALTER DOMAIN " . qi($n) . " ADD CONSTRAINT " . qi(newname('dnv')) . " CHECK (VALUE IS NOT NULL) NOT VALID;")
	  if chance(0.2);
	push @domains, $n;
	push @types, [ qi($n), $base eq 'text' ? sub { ql('d' . rnd(9)) } : sub { 1 + rnd(50) } ];
}
if (chance(0.4))
{
	my $n = newname('comp');
	emit("CREATE TYPE " . qi($n) . " AS (a integer, " . qi(newname('f')) . " text COLLATE \"C\");");
	push @types, [ qi($n), sub { "ROW(" . rnd(9) . ", 'c')" } ];
}
if (chance(0.2))
{
	my $n = newname('rng');
	emit("CREATE TYPE " . qi($n) . " AS RANGE (subtype = integer, multirange_type_name = "
		  . qi(newname('mr')) . ");");
	push @types, [ qi($n), sub { ql('[1,' . (2 + rnd(9)) . ')') } ];
}

# sequences and functions
my @seqs;
for (1 .. rnd(3))
{
	my $n = newname('seq');
	emit("CREATE SEQUENCE " . qi($n) . (chance(0.5) ? " AS integer" : "")
		  . (chance(0.5) ? " START " . (1 + rnd(100)) : "")
		  . (chance(0.3) ? " INCREMENT " . (2 + rnd(5)) : "")
		  . (chance(0.2) ? " CYCLE" : "") . (chance(0.3) ? " CACHE 5" : "") . ";");
	emit("SELECT setval(" . ql(qi($n)) . ", " . (1 + rnd(50)) . ", " . pick('true', 'false') . ");")
	  if chance(0.6);
	push @seqs, $n;
}
my @funcs;
for (1 .. rnd(3))
{
	my $n = newname('fn');
	emit("CREATE FUNCTION " . qi($n) . "(x integer) RETURNS integer LANGUAGE sql "
		  . pick('IMMUTABLE', 'STABLE', 'VOLATILE') . (chance(0.5) ? " STRICT" : "")
		  . (chance(0.3) ? " PARALLEL SAFE" : "") . (chance(0.2) ? " COST 7" : "")
		  . " AS " . ql("SELECT x + " . rnd(10)) . ";");
	emit("COMMENT ON FUNCTION " . qi($n) . "(integer) IS 'fn';") if chance(0.3);
	push @funcs, $n;
}
my $trigfn;
if (chance(0.5))
{
	$trigfn = newname('trg_fn');
	emit("CREATE FUNCTION " . qi($trigfn) . "() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;");
}

# tables
my @tables;    # { name, cols => [ [name, type, notnull] ], pk => [cols], pktypes }
for my $t (1 .. 1 + rnd(5))
{
	my $tn = newname('t');
	my (@cols, @defs, @checks);
	my $ncols = 1 + rnd(7);
	my $has_identity = 0;
	my @intcols;
	for my $c (1 .. $ncols)
	{
		my $cn = newname('c');
		my $ty = pick(@types);
		my ($tname, $gen) = @$ty;
		my $def = qi($cn) . " $tname";
		my $notnull = chance(0.3);
		if ($tname eq 'text' && chance(0.2)) { $def .= ' COLLATE "C"'; }
		if (!$has_identity && $tname =~ /^(integer|bigint|smallint)$/ && chance(0.2))
		{
			$def .= " GENERATED " . pick('ALWAYS', 'BY DEFAULT') . " AS IDENTITY"
			  . (chance(0.5) ? " (START WITH " . (1 + rnd(100)) . " INCREMENT BY " . (1 + rnd(3)) . ")" : "");
			$has_identity = 1;
			$notnull = 1;
			$gen = undef;
		}
		elsif (@intcols && $tname eq 'integer' && chance(0.15))
		{
			$def .= " GENERATED ALWAYS AS (" . qi($intcols[0]) . " * 2) STORED";
			$gen = undef;
		}
		elsif (chance(0.3))
		{
			if ($tname eq 'integer' && @funcs && chance(0.5))
			{ $def .= " DEFAULT " . qi(pick(@funcs)) . "(" . rnd(9) . ")"; }
			elsif ($tname =~ /^(integer|bigint)$/ && @seqs && chance(0.5))
			{ $def .= " DEFAULT nextval(" . ql(qi(pick(@seqs))) . ")"; }
			elsif ($tname eq 'timestamp with time zone') { $def .= " DEFAULT now()"; }
			else { $def .= " DEFAULT " . $gen->(); }
		}
		$def .= " NOT NULL" if $notnull;
		push @intcols, $cn if $tname eq 'integer' && defined $gen;
		push @cols, { name => $cn, type => $tname, gen => $gen, notnull => $notnull };
		push @defs, $def;
	}
	# checks
	my $noinherit = 0;
	if (@intcols && chance(0.4))
	{
		$noinherit = chance(0.2);
		push @defs, "CONSTRAINT " . qi(newname('chk')) . " CHECK (" . qi($intcols[0]) . " >= 0)"
		  . ($noinherit ? " NO INHERIT" : "");
	}
	# primary key: on columns that are NOT NULL and btree-able
	my @keyable = grep { $_->{type} =~ /^(integer|bigint|smallint|text|date|uuid|character varying\(20\))$/ && defined $_->{gen} } @cols;
	my @pk;
	if (@keyable && chance(0.7))
	{
		@pk = ($keyable[0]);
		push @pk, $keyable[1] if @keyable > 1 && chance(0.3);
		push @defs, (chance(0.5) ? "CONSTRAINT " . qi(newname('pk')) . " " : "")
		  . "PRIMARY KEY (" . join(', ', map { qi($_->{name}) } @pk) . ")"
		  . (chance(0.2) ? " WITH (fillfactor = 80)" : "");
	}
	my $has_unique = 0;
	if (@keyable > 1 && chance(0.3))
	{
		$has_unique = 1;
		push @defs, "UNIQUE " . (chance(0.3) ? "NULLS NOT DISTINCT " : "") . "(" . qi($keyable[-1]{name}) . ")";
	}
	# foreign key to an earlier table with a one-column key
	my @targets = grep { @{ $_->{pk} } == 1 && !$_->{unlogged} } @tables;
	my @fks;
	if (@targets && chance(0.5))
	{
		my $tg = pick(@targets);
		my $fkcol = newname('fk');
		push @defs, qi($fkcol) . " " . $tg->{pk}[0]{type};
		push @fks, "ALTER TABLE " . qi($tn) . " ADD CONSTRAINT " . qi(newname('fkc'))
		  . " FOREIGN KEY (" . qi($fkcol) . ") REFERENCES " . qi($tg->{name})
		  . (chance(0.3) ? " MATCH FULL" : "")
		  . pick('', ' ON DELETE CASCADE', ' ON DELETE SET NULL', ' ON UPDATE RESTRICT')
		  . pick('', ' DEFERRABLE', ' DEFERRABLE INITIALLY DEFERRED')
		  . (chance(0.2) ? " NOT VALID" : "") . ";";
	}
	my $kind = rnd(10);
	my $sql;
	if ($kind == 0 && @intcols && !@pk && !$has_unique && !$noinherit)
	{
		# partitioned by range on an integer column, two partitions and a default
		my $pc = $intcols[0];
		$sql = "CREATE TABLE " . qi($tn) . " (" . join(', ', @defs) . ") PARTITION BY RANGE (" . qi($pc) . ");";
		emit($sql);
		emit("CREATE TABLE " . qi("${tn}_p1") . " PARTITION OF " . qi($tn) . " FOR VALUES FROM (MINVALUE) TO (500);");
		emit("CREATE TABLE " . qi("${tn}_p2") . " PARTITION OF " . qi($tn) . " FOR VALUES FROM (500) TO (MAXVALUE);");
		emit("CREATE INDEX " . qi(newname('pix')) . " ON " . qi($tn) . " (" . qi($pc) . ");") if chance(0.5);
		push @tables, { name => $tn, cols => \@cols, pk => [], partitioned => 1 };
	}
	elsif ($kind == 1 && @tables && !$tables[-1]{partitioned} && !$has_identity)
	{
		my $parent = $tables[-1];
		$sql = "CREATE TABLE " . qi($tn) . " (" . join(', ', @defs) . ") INHERITS (" . qi($parent->{name}) . ");";
		emit($sql);
		push @tables, { name => $tn, cols => [ @{ $parent->{cols} }, @cols ], pk => \@pk, child => 1 };
	}
	else
	{
		my $unlogged = !@fks && chance(0.15);
		$sql = "CREATE " . ($unlogged ? "UNLOGGED " : "") . "TABLE " . qi($tn) . " (" . join(', ', @defs) . ")"
		  . (chance(0.15) ? " WITH (fillfactor = " . (50 + rnd(50)) . ")" : "") . ";";
		emit($sql);
		push @tables, { name => $tn, cols => \@cols, pk => \@pk, unlogged => $unlogged };
	}
	emit(@fks);
	emit("COMMENT ON TABLE " . qi($tn) . " IS " . ql("table $tn") . ";") if chance(0.3);
	emit("COMMENT ON COLUMN " . qi($tn) . "." . qi($cols[0]{name}) . " IS 'col';") if chance(0.3);
	emit("ALTER TABLE " . qi($tn) . " ALTER COLUMN " . qi($cols[-1]{name}) . " SET STATISTICS " . rnd(1000) . ";")
	  if chance(0.1);
	emit("ALTER TABLE " . qi($tn) . " OWNER TO rnd_owner;") if chance(0.3);
	emit("GRANT SELECT" . (chance(0.5) ? ", UPDATE" : "") . " ON " . qi($tn) . " TO rnd_reader;") if chance(0.3);
	emit("GRANT SELECT (" . qi($cols[0]{name}) . ") ON " . qi($tn) . " TO PUBLIC;") if chance(0.1);

	# indexes
	for (1 .. rnd(3))
	{
		my @ix = grep { defined $_->{gen} && $_->{type} =~ /^(integer|bigint|smallint|text|date|numeric\(10,2\)|boolean|character varying\(20\))$/ } @cols;
		last unless @ix;
		my $c = pick(@ix);
		my $expr = $c->{type} eq 'text' && chance(0.4) ? "lower(" . qi($c->{name}) . ")" : qi($c->{name});
		$expr .= pick('', ' DESC', ' NULLS FIRST', ' DESC NULLS LAST');
		my $other = pick(@ix);
		emit("CREATE " . (chance(0.2) ? "UNIQUE " : "") . "INDEX " . qi(newname('ix')) . " ON " . qi($tn)
			  . " (" . $expr . ")"
			  . (chance(0.2) && $other ne $c ? " INCLUDE (" . qi($other->{name}) . ")" : "")
			  . (chance(0.2) ? " WITH (fillfactor = 70)" : "")
			  . (chance(0.3) ? " WHERE " . qi($c->{name}) . " IS NOT NULL" : "") . ";");
	}
	if ($trigfn && chance(0.4))
	{
		my $tg = newname('trg');
		emit("CREATE TRIGGER " . qi($tg) . " BEFORE INSERT OR UPDATE ON " . qi($tn)
			  . " FOR EACH ROW EXECUTE FUNCTION " . qi($trigfn) . "();");
		emit("ALTER TABLE " . qi($tn) . " " . pick('DISABLE', 'ENABLE ALWAYS', 'ENABLE REPLICA') . " TRIGGER " . qi($tg) . ";")
		  if chance(0.4);
	}
	if (chance(0.15))
	{
		emit("ALTER TABLE " . qi($tn) . " ENABLE ROW LEVEL SECURITY;");
		emit("CREATE POLICY " . qi(newname('pol')) . " ON " . qi($tn) . " FOR SELECT TO rnd_reader USING (true);");
	}
	if (chance(0.1) && @cols > 1)
	{
		my @sc = grep { defined $_->{gen} && $_->{type} =~ /^(integer|text|bigint)$/ } @cols;
		emit("CREATE STATISTICS " . qi(newname('st')) . " ON " . qi($sc[0]{name}) . ", " . qi($sc[1]{name})
			  . " FROM " . qi($tn) . ";") if @sc > 1;
	}
	emit("ALTER TABLE " . qi($tn) . " REPLICA IDENTITY FULL;") if chance(0.1);
	if (chance(0.1) && !$tables[-1]{partitioned})
	{
		emit("CREATE RULE " . qi(newname('rule')) . " AS ON DELETE TO " . qi($tn) . " DO ALSO NOTIFY rnd;");
	}

	# some rows; a row that breaks a constraint is simply skipped
	for (1 .. rnd(4))
	{
		my @ins = grep { defined $_->{gen} } @{ $tables[-1]{cols} };
		next unless @ins;
		emit("DO \$r\$BEGIN INSERT INTO " . qi($tn) . " (" . join(', ', map { qi($_->{name}) } @ins)
			  . ") VALUES (" . join(', ', map { $_->{gen}->() } @ins)
			  . "); EXCEPTION WHEN others THEN NULL; END\$r\$;");
	}
}

# views and materialized views over the tables
for (1 .. rnd(3))
{
	my $t = pick(@tables);
	my @vc = grep { $_->{type} !~ /json/ } @{ $t->{cols} };
	next unless @vc;
	my $vn = newname('v');
	my $mat = chance(0.25);
	my @sel = map { qi($_->{name}) } @vc[ 0 .. rnd(scalar @vc) ];
	emit("CREATE " . ($mat ? "MATERIALIZED " : "") . "VIEW " . qi($vn)
		  . (!$mat && chance(0.2) ? " WITH (security_barrier)" : "")
		  . " AS SELECT " . join(', ', @sel) . " FROM " . qi($t->{name})
		  . (chance(0.5) ? " WHERE " . $sel[0] . " IS NOT NULL" : "")
		  . ($mat && chance(0.3) ? " WITH NO DATA" : "") . ";");
	emit("COMMENT ON " . ($mat ? "MATERIALIZED " : "") . "VIEW " . qi($vn) . " IS 'view';") if chance(0.3);
}

emit("RESET search_path;");
print join("\n", @out), "\n";
