# Shared by the azd hooks (sourced, not run). azd passes its environment, including the outputs
# of infra/main.bicep, to hooks as environment variables.

# need NAME...: fail, naming the variable, if any is empty.
need() {
  for name in "$@"; do
    eval "value=\${$name:-}"
    if [ -z "$value" ]; then
      echo "$HOOK: $name is not set; run 'azd provision' first (it is an output of infra/main.bicep)" >&2
      exit 1
    fi
  done
}

# The hooks deploy with the Azure CLI, whose sign-in is separate from azd's.
need_az() {
  if ! command -v az >/dev/null 2>&1; then
    echo "$HOOK: the Azure CLI (az) is needed; install it, 'az login', then 'azd hooks run $HOOK'" >&2
    exit 1
  fi
  if ! az account show --only-show-errors >/dev/null 2>&1; then
    echo "$HOOK: the Azure CLI is not signed in; run 'az login', then 'azd hooks run $HOOK'" >&2
    exit 1
  fi
}

INFRA_DIR="$(cd "$(dirname "$0")/.." && pwd)"
