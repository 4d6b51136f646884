#!/usr/bin/env bash
# Publishing speed: `export s3://…` of one large asset to moto on 127.0.0.1, next to `aws s3 cp`
# (or boto3's upload_file when the AWS CLI is missing) of the same file, with peak memory from
# GNU time. Usage: scripts/bench_s3_export.sh PATH-TO-stac-repository [MiB, default 256]
# Needs moto_server and boto3 (scripts/setup.sh --test-tools puts them in .build-tools/venv).
set -euo pipefail
bin=${1:?usage: bench_s3_export.sh PATH-TO-stac-repository [MiB]}
mib=${2:-256}
work=$(mktemp -d)
export HOME=$work GIT_CONFIG_GLOBAL=$work/.gitconfig GIT_CONFIG_NOSYSTEM=1
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -rf "$work"' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1
until python3 -c "import boto3; boto3.client('s3').create_bucket(Bucket='bench')" 2>/dev/null; do sleep 0.3; done

mkdir -p "$work/site/big"
head -c $((mib << 20)) /dev/urandom >"$work/site/big/big.bin"
cat >"$work/site/big/big.json" <<EOF
{"type": "Feature", "stac_version": "1.1.0", "id": "big", "geometry": null, "properties": {"datetime": "2024-01-01T00:00:00Z"},
 "links": [], "assets": {"data": {"href": "./big.bin", "roles": ["data"]}}}
EOF
"$bin" init --repository "$work/repo" --id bench --description bench >/dev/null
"$bin" ingest --repository "$work/repo" "$work/site/big/big.json" >/dev/null

measure() { # label, command...: prints "label: S s, MB/s, peak RSS"
    local label=$1
    shift
    /usr/bin/time -v "$@" >"$work/out" 2>"$work/time"
    local wall rss
    wall=$(python3 - "$work/time" <<'PY'
import re, sys
t = re.search(r"Elapsed \(wall clock\) time.*: (.*)", open(sys.argv[1]).read()).group(1).split(":")
print(sum(float(x) * 60 ** i for i, x in enumerate(reversed(t))))
PY
)
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
    case $label in
    *again*) python3 -c "print(f'$label: {$wall:.2f} s, peak RSS {$rss / 1024:.0f} MB')" ;;
    *) python3 -c "print(f'$label: {$wall:.2f} s, {$mib * 1.048576 / $wall:.0f} MB/s, peak RSS {$rss / 1024:.0f} MB')" ;;
    esac
}

echo "one $mib MiB asset to moto on 127.0.0.1 ($(nproc) cores)"
measure "stac-repository export s3:// (multipart, 16 MiB parts, SHA-256 per part)" \
    "$bin" export --repository "$work/repo" s3://bench/export/
measure "stac-repository export s3:// again (HEAD only, nothing uploaded)" \
    "$bin" export --repository "$work/repo" s3://bench/export/
if command -v aws >/dev/null && aws --version >/dev/null 2>&1; then
    measure "aws s3 cp (default: 8 MiB parts, 10 threads)" aws s3 cp --only-show-errors "$work/site/big/big.bin" s3://bench/aws/big.bin
else
    measure "boto3 upload_file (default: 8 MiB parts, 10 threads)" \
        python3 -c "import boto3, sys; boto3.client('s3').upload_file(sys.argv[1], 'bench', 'boto3/big.bin')" "$work/site/big/big.bin"
fi
