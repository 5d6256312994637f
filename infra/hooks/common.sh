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

# wait_for_function NAME: the host indexes the functions after the package is deployed (and
# Event Grid validates an AzureFunction endpoint when a subscription is created): wait until
# ARM lists function NAME of the app, 5 minutes at most.
wait_for_function() {
  attempt=0
  until az functionapp function show --only-show-errors \
    --subscription "$AZURE_SUBSCRIPTION_ID" \
    --resource-group "$AZURE_RESOURCE_GROUP" \
    --name "$AZURE_FUNCTION_APP_NAME" \
    --function-name "$1" \
    --query id --output tsv >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 30 ]; then
      echo "$HOOK: function $1 not found in $AZURE_FUNCTION_APP_NAME after 5 minutes;" \
        "check the deployment logs, then 'azd hooks run $HOOK'" >&2
      exit 1
    fi
    echo "$HOOK: waiting for $AZURE_FUNCTION_APP_NAME to index $1 ($attempt/30)"
    sleep 10
  done
}

INFRA_DIR="$(cd "$(dirname "$0")/.." && pwd)"
