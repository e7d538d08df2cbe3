#!/usr/bin/env bash
# Validates docker-compose.yml (or the file given as $1) without starting anything.
#   1. `docker-compose config -q` when docker-compose is installed;
#   2. otherwise parses it as YAML with python3 if PyYAML is importable;
#   3. otherwise prints a one-line notice and exits 0.
# Installs nothing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
file="${1:-$root/docker-compose.yml}"

if [[ ! -f "$file" ]]; then
  echo "check-compose: $file not found" >&2
  exit 1
fi

if command -v docker-compose >/dev/null 2>&1; then
  # --project-directory keeps relative paths (build: .) resolved next to the file.
  docker-compose -f "$file" --project-directory "$(dirname "$file")" config -q
  echo "check-compose: $file OK (docker-compose config)"
elif command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' >/dev/null 2>&1; then
  python3 -c '
import sys, yaml
path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    doc = yaml.safe_load(f)
if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict) or not doc["services"]:
    sys.exit(f"check-compose: {path}: no services mapping")
for name, svc in doc["services"].items():
    if not isinstance(svc, dict) or not ("image" in svc or "build" in svc):
        sys.exit(f"check-compose: {path}: service {name!r} has neither image nor build")
' "$file"
  echo "check-compose: $file OK (YAML parse only; docker-compose not installed)"
else
  echo "check-compose: skipped (neither docker-compose nor python3 with PyYAML is available)"
fi
