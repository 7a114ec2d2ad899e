#!/usr/bin/env bash
# The formatting ratchet: every C++ file of the source tree must be as clang-format-14 formats it
# with .clang-format, except the files listed in tools/format-pending.txt (those that did not conform
# when the check came in). The list only shrinks: a listed file that now conforms, or no longer
# exists, fails the check too, so it leaves the list in the change that fixed it. The tree is not
# reformatted wholesale; format a file (clang-format-14 -i FILE) when you change it anyway.
#   tools/format-check.sh                   check; exit 0 clean, 1 findings, 2 cannot check
#   tools/format-check.sh --update-pending  drop the listed files that now conform or are gone; never
#                                           adds one (write the list from scratch: delete it first)
# C++ files: *.cpp *.cc *.h *.hpp tracked or untracked-but-not-ignored in git (so never the generated
# code under build*/). JOBS sets the parallelism (default: nproc).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
config="$root/.clang-format"
pending_file="$root/tools/format-pending.txt"
fmt="${CLANG_FORMAT:-clang-format-14}"

update=0
for arg in "$@"; do
  case "$arg" in
    --update-pending) update=1 ;;
    *) echo "format-check: unknown option $arg (known: --update-pending)" >&2; exit 2 ;;
  esac
done

command -v "$fmt" >/dev/null 2>&1 || {
  echo "format-check: $fmt not installed (tools/install-deps.sh, or make deps, installs clang-format-14)" >&2
  exit 2
}
[ -f "$config" ] || { echo "format-check: $config missing" >&2; exit 2; }
# A broken .clang-format must not read as "every file fails" (or, in --update-pending, "no file
# conforms"): check that clang-format accepts it before looking at any file.
"$fmt" --style="file:$config" --dump-config >/dev/null 2>&1 </dev/null || {
  echo "format-check: $fmt does not accept $config:" >&2
  "$fmt" --style="file:$config" --dump-config 2>&1 >/dev/null </dev/null | head -5 >&2 || true
  exit 2
}

if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git -C "$root" ls-files --cached --others --exclude-standard -- \
    '*.cpp' '*.cc' '*.h' '*.hpp' | sort -u)
else
  mapfile -t files < <(find broker contracts adapters tests bench examples tools \
    -type f \( -name '*.cpp' -o -name '*.cc' -o -name '*.h' -o -name '*.hpp' \) 2>/dev/null | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "format-check: no C++ files found under $root" >&2; exit 2; }
# git ls-files lists a deleted-but-not-yet-committed file; it cannot be checked, and is no longer ours.
present=()
for f in "${files[@]}"; do [ -f "$f" ] && present+=("$f"); done
files=("${present[@]}")

# The files that do not conform today: one clang-format per file, so a file's result is its exit code.
jobs="${JOBS:-$(nproc)}"
mapfile -t nonconforming < <(printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$jobs" sh -c \
  '"$0" --style="file:$1" --dry-run -Werror --ferror-limit=1 "$2" >/dev/null 2>&1 || printf "%s\n" "$2"' \
  "$fmt" "$config" | sort)

pending=()
if [ -f "$pending_file" ]; then
  mapfile -t pending < <(grep -v -e '^#' -e '^[[:space:]]*$' "$pending_file" | sort -u)
fi

# new: not conforming and not listed. stale: listed, but conforms now or is gone.
mapfile -t new < <(comm -23 <(printf '%s\n' "${nonconforming[@]}" | sed '/^$/d') \
                            <(printf '%s\n' "${pending[@]}" | sed '/^$/d'))
mapfile -t stale < <(comm -13 <(printf '%s\n' "${nonconforming[@]}" | sed '/^$/d') \
                              <(printf '%s\n' "${pending[@]}" | sed '/^$/d'))

write_pending() {  # the files given, under the list's header
  {
    echo "# C++ files that did not conform to .clang-format when tools/format-check.sh came in; the"
    echo "# check skips them. The list only shrinks: format a file when you change it anyway"
    echo "# (clang-format-14 -i FILE) and run tools/format-check.sh --update-pending to drop it."
    printf '%s\n' "$@" | sed '/^$/d'
  } > "$pending_file"
}

if [ "$update" -eq 1 ]; then
  if [ ! -f "$pending_file" ]; then
    write_pending "${nonconforming[@]}"
    echo "format-check: wrote $pending_file: ${#nonconforming[@]} of ${#files[@]} files do not conform"
    exit 0
  fi
  keep=()
  mapfile -t keep < <(comm -12 <(printf '%s\n' "${nonconforming[@]}" | sed '/^$/d') \
                               <(printf '%s\n' "${pending[@]}" | sed '/^$/d'))
  write_pending "${keep[@]}"
  for f in "${stale[@]}"; do [ -n "$f" ] && echo "format-check: dropped from the list: $f"; done
  echo "format-check: $pending_file lists ${#keep[@]} files"
  if [ ${#new[@]} -gt 0 ]; then
    for f in "${new[@]}"; do echo "format-check: not formatted (not added to the list): $f" >&2; done
    echo "format-check: format these with $fmt -i; the list does not grow" >&2
    exit 1
  fi
  exit 0
fi

status=0
for f in "${new[@]}"; do
  [ -n "$f" ] || continue
  echo "format-check: not formatted: $f" >&2
  "$fmt" --style="file:$config" --dry-run "$f" 2>&1 | head -6 >&2 || true
  status=1
done
for f in "${stale[@]}"; do
  [ -n "$f" ] || continue
  if [ -f "$f" ]; then
    echo "format-check: $f conforms now: take it off tools/format-pending.txt (--update-pending)" >&2
  else
    echo "format-check: $f is listed in tools/format-pending.txt but no longer exists: take it off (--update-pending)" >&2
  fi
  status=1
done
if [ "$status" -eq 0 ]; then
  echo "format-check: clean (${#files[@]} files: $(( ${#files[@]} - ${#pending[@]} )) conform, ${#pending[@]} still pending in tools/format-pending.txt)"
else
  echo "format-check: findings above (format a file with $fmt -i FILE; drop conforming files from the list with --update-pending)" >&2
fi
exit "$status"
