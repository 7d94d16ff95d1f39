#!/usr/bin/perl
# mkmmdb.pl: build a small GeoIP City .mmdb for tests and simulated worlds.
#
# Usage: mkmmdb.pl [--flat] OUT.mmdb [TABLE]
#   TABLE (default: stdin) has one network per line, '#' starts a comment:
#       CIDR  LATITUDE  LONGITUDE  CITY  COUNTRY
#   e.g.  198.51.100.0/24  52.52  13.40  Berlin  DE
#   Use '_' for spaces in CITY ("New_York" becomes "New York").
#   Default layout is MaxMind GeoLite2-City's (location.latitude / location.longitude,
#   city.names.en, country.iso_code); --flat writes the flat layout of the
#   ip-location-db files (latitude, longitude, city, country_code at the top level).
# Needs Debian's libmaxmind-db-writer-perl. Exit status 0 ok, 1 error, 2 usage.
# Reserved ranges (the documentation networks) are kept: remove_reserved_networks => 0.
use strict;
use warnings;

my $flat = 0;
if (@ARGV && $ARGV[0] eq '--flat') { $flat = 1; shift @ARGV; }
if (@ARGV < 1 || @ARGV > 2 || $ARGV[0] =~ /^-/) {
	print STDERR "usage: mkmmdb.pl [--flat] OUT.mmdb [TABLE]\n";
	exit 2;
}
my ($out, $table) = @ARGV;

eval { require MaxMind::DB::Writer::Tree; 1 } or do {
	print STDERR "mkmmdb.pl: MaxMind::DB::Writer::Tree missing (apt-get install libmaxmind-db-writer-perl)\n";
	exit 1;
};

my %types = (
	location => 'map', latitude => 'double', longitude => 'double',
	city => $flat ? 'utf8_string' : 'map', names => 'map', en => 'utf8_string',
	country => 'map', iso_code => 'utf8_string', country_code => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version => 6,
	record_size => 28,
	database_type => $flat ? 'wgrelay-test-flat' : 'GeoLite2-City',
	languages => ['en'],
	description => { en => 'wgrelay test GeoIP database' },
	remove_reserved_networks => 0,
	alias_ipv6_to_ipv4 => 1,
	map_key_type_callback => sub { $types{ $_[0] } // 'utf8_string' },
);

my $fh = \*STDIN;
if (defined $table) {
	open($fh, '<', $table) or do { print STDERR "mkmmdb.pl: $table: $!\n"; exit 1; };
}
my $n = 0;
while (my $line = <$fh>) {
	$line =~ s/#.*//;
	next if $line =~ /^\s*$/;
	my ($cidr, $lat, $lon, $city, $cc) = split ' ', $line;
	unless (defined $cc && $lat =~ /^-?[0-9.]+$/ && $lon =~ /^-?[0-9.]+$/) {
		print STDERR "mkmmdb.pl: line $.: want 'CIDR LAT LON CITY COUNTRY'\n";
		exit 1;
	}
	$city =~ tr/_/ /;
	my $rec = $flat
		? { latitude => $lat + 0.0, longitude => $lon + 0.0, city => $city, country_code => $cc }
		: { location => { latitude => $lat + 0.0, longitude => $lon + 0.0 },
		    city => { names => { en => $city } }, country => { iso_code => $cc } };
	$tree->insert_network($cidr, $rec);
	$n++;
}
open(my $o, '>:raw', $out) or do { print STDERR "mkmmdb.pl: $out: $!\n"; exit 1; };
$tree->write_tree($o);
close($o) or do { print STDERR "mkmmdb.pl: $out: $!\n"; exit 1; };
exit 0;
