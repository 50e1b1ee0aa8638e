# Sourced: CARGO_FLAGS uses Debian's packaged crates when crates.io is not what we have.
# With network access to crates.io, set CRUCIBLE_CARGO_ONLINE=1 to build the ordinary way.
CARGO_FLAGS=()
if [ -z "${CRUCIBLE_CARGO_ONLINE:-}" ] && [ -d /usr/share/cargo/registry ]; then
  CARGO_FLAGS=(--offline
    --config 'source.crates-io.replace-with="debian"'
    --config 'source.debian.directory="/usr/share/cargo/registry"')
fi
