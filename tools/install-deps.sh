#!/usr/bin/env bash
# Installs Keten's build, test and demo dependencies from Debian packages.
# Idempotent and quiet when everything is present; uses sudo when not root.
#   --bench  also the comparison peers of bench/run.sh (RabbitMQ and its C client, gnuplot);
#            `make test` does not need them.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  cppzmq-dev libzmq3-dev
  libflatbuffers-dev flatbuffers-compiler
  libvalijson-dev nlohmann-json3-dev
  libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev
  catch2
  libsodium-dev
  libssl-dev  # contracts/digest: SHA-256 through libcrypto (SHA extensions)
  libmimalloc-dev  # the keten executable's allocator (KETEN_MIMALLOC; not in sanitizer builds)
  libcli11-dev
  postgresql-15  # tests/support/postgres_server: throwaway clusters (initdb/pg_ctl) for broker/ha's tests
  libpq-dev  # broker/ha: leader election and fencing on PostgreSQL through libpq
  libtomlplusplus-dev
  python3-zmq python3-flatbuffers
  python3-nacl  # tests/integration/tlog_verify.py: Ed25519 of the checkpoint notes, outside our C++
  libcurl4-openssl-dev libgmime-3.0-dev dovecot-imapd python3-aiosmtpd
  openssl  # the email tests' throwaway TLS certificate (STARTTLS against aiosmtpd and dovecot); the https_api test's CA and certificates
  curl  # tests/integration/https_api_test.py, examples/https-partner and the console test: HTTPS clients
  libcpp-httplib-dev  # broker/ops: the /healthz, /readyz, /metrics endpoint
  chromium
  python3-websocket  # tests/integration/console_browser.py: drives headless chromium over the DevTools protocol
  clang-14 libclang-rt-14-dev  # the ASan+UBSan build of make test; make fuzz / fuzz-smoke: libFuzzer (docs/fuzzing.md)
  clang-tidy-14  # make tidy, make ci-checks: the bug-pattern checks in .clang-tidy
  clang-format-14  # make format-check, make ci-checks: tools/format-check.sh against .clang-format
)
bench_packages=(
  rabbitmq-server librabbitmq-dev gnuplot-nox  # bench/run.sh: RabbitMQ peer, its C client, plots
)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=("${bench_packages[@]}") ;;
    *) echo "install-deps: unknown option $arg (known: --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
