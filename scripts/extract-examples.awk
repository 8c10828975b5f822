# Extract the ```no_run examples of mapdrv's doc comments (`//!` and `///`)
# into one Rust module each, for scripts/compile-fail to compile.
#
# Usage: awk -v out=DIR -f scripts/extract-examples.awk FILE.rs...
# Writes DIR/NAME.rs per example (NAME: the file's path with / as _, and the
# example's line), and prints "NAME FILE:LINE" per example. Lines of an
# example that start with "# " (or are "#") are compiled but, as rustdoc
# does, meant to be hidden from the reader: set-up the example needs.
# Each example becomes the body of `fn example() -> Result`, so `?` works
# and items (structs, impls) may be declared inside it.
FNR == 1 { inside = 0 }
{
	line = $0
	if (!inside && line ~ /^[ \t]*\/\/[!\/] ```no_run[ \t]*$/) {
		inside = 1
		name = FILENAME
		sub(/^.*\/src\//, "src/", name)
		where = name ":" FNR
		gsub(/[\/.]/, "_", name)
		name = name "_" FNR
		file = out "/" name ".rs"
		printf "// Extracted from %s by scripts/compile-fail.\n", where > file
		print "#![allow(dead_code, unused_imports, unused_variables, unused_mut, unreachable_pub, clippy::all)]" > file
		print "use kernel::prelude::*;" > file
		print "fn example() -> Result {" > file
		print name " " where
		next
	}
	if (inside) {
		if (line ~ /^[ \t]*\/\/[!\/] ```[ \t]*$/) {
			print "    Ok(())" > file
			print "}" > file
			close(file)
			inside = 0
			next
		}
		sub(/^[ \t]*\/\/[!\/] ?/, "", line)
		if (line == "#")
			line = ""
		else if (line ~ /^# /)
			line = substr(line, 3)
		print "    " line > file
	}
}
