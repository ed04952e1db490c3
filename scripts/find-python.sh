#!/bin/sh
# Print the path of a Python >= 3.12 interpreter, or fail with advice.
# Tries plain commands first, then pyenv installs (whose shims refuse to run
# a version that is not selected, hence PYENV_VERSION).
ok() { "$@" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for cmd in python3.13 python3.12 python3.14 python3; do
    if command -v "$cmd" >/dev/null 2>&1 && ok "$cmd"; then
        "$cmd" -c 'import sys; print(sys.executable)'; exit 0
    fi
done
if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])' | sort -t. -k1,1n -k2,2n -k3,3n); do
        exe="$(pyenv root)/versions/$v/bin/python3"
        if [ -x "$exe" ] && ok "$exe"; then echo "$exe"; exit 0; fi
    done
fi
echo "winback needs Python >= 3.12; none found (tried python3.13, python3.12, python3 and pyenv)." >&2
echo "Install one (e.g. 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12 ..." >&2
exit 1
