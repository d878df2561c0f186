#!/bin/sh
# deps.sh SOURCE_DIR NODE_DIR: gets the browser tests' npm packages (playwright-core, axe-core,
# pinned in package-lock.json) into NODE_DIR in the build tree with `npm ci`, and checks that
# Node, npm and Debian's Chromium are there. Never downloads a browser: Chromium is Debian's.
set -eu
src=$1
dir=$2
chromium=${TRAMIT_CHROMIUM:-/usr/bin/chromium}

missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -x "$chromium" ] || missing="$missing chromium"
if [ -n "$missing" ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo "
	echo "browser tests: missing$missing. Install the Debian packages with:" >&2
	echo "  ${sudo}apt-get install -y$missing" >&2
	echo "(or run 'make test', which installs scripts/debian-packages.txt as root)" >&2
	exit 1
fi

# playwright-core needs Node 18 or later.
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' || {
	echo "browser tests: Node $(node -v) is too old; playwright-core needs 18 or later" >&2
	exit 1
}

mkdir -p "$dir"
# Install only when the lock changed since the last install: `npm ci` starts from scratch.
if [ -f "$dir/node_modules/.installed-lock.json" ] &&
   cmp -s "$src/package-lock.json" "$dir/node_modules/.installed-lock.json"; then
	echo "browser tests: npm packages up to date in $dir"
	exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dir/"
# Never fetch a browser build, whatever a package's install script would like to do.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
cp "$src/package-lock.json" "$dir/node_modules/.installed-lock.json"
echo "browser tests: installed $(cd "$dir" && node -p 'require("playwright-core/package.json").version') playwright-core," \
	"$(cd "$dir" && node -p 'require("axe-core/package.json").version') axe-core; $("$chromium" --version 2>/dev/null)"
