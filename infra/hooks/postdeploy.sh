#!/bin/sh
# azd postdeploy hook: subscribe drift_on_storage_event to the data lake's Event Grid system
# topic, one subscription per watched container (infra/eventgrid-subscription.bicep).
#
# Why here and not in main.bicep: Azure validates an AzureFunction endpoint when the
# subscription is created and rejects it while the function does not exist; on a first
# `azd up` the function only exists once `azd deploy` has uploaded the code and the host has
# indexed it. Re-running is safe: the deployment is idempotent. Deployed with the Azure CLI
# into the system topic's resource group (drift's own, or that of an existing topic).
# DRIFT_SKIP_EVENTGRID_SUBSCRIPTION=true skips it (e.g. to create the subscription elsewhere).
set -eu
HOOK=postdeploy
. "$(dirname "$0")/common.sh"

if [ "${DRIFT_SKIP_EVENTGRID_SUBSCRIPTION:-false}" = "true" ]; then
  echo "$HOOK: DRIFT_SKIP_EVENTGRID_SUBSCRIPTION=true, no Event Grid subscription deployed"
  exit 0
fi

need AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_FUNCTION_APP_ID \
  DRIFT_EVENTGRID_SYSTEM_TOPIC_NAME DRIFT_EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP \
  DRIFT_DATA_LAKE_CONTAINERS DRIFT_DEAD_LETTER_STORAGE_ID DRIFT_DEAD_LETTER_CONTAINER
need_az

function_name=drift_on_storage_event
schema="${DRIFT_EVENT_DELIVERY_SCHEMA:-EventGridSchema}"

wait_for_function "$function_name"

for container in $(echo "$DRIFT_DATA_LAKE_CONTAINERS" | tr ',' ' '); do
  echo "$HOOK: Event Grid subscription for container '$container' -> $function_name ($schema)"
  az deployment group create --only-show-errors \
    --subscription "$AZURE_SUBSCRIPTION_ID" \
    --resource-group "$DRIFT_EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP" \
    --name "drift-evgs-$(printf '%s' "$container" | cut -c1-40)" \
    --template-file "$INFRA_DIR/eventgrid-subscription.bicep" \
    --parameters \
      systemTopicName="$DRIFT_EVENTGRID_SYSTEM_TOPIC_NAME" \
      containerName="$container" \
      functionAppResourceId="$AZURE_FUNCTION_APP_ID" \
      functionName="$function_name" \
      deadLetterStorageAccountResourceId="$DRIFT_DEAD_LETTER_STORAGE_ID" \
      deadLetterContainerName="$DRIFT_DEAD_LETTER_CONTAINER" \
      eventDeliverySchema="$schema" \
    --query properties.outputs.id.value --output tsv
done

# Azure ML job status events -> drift_on_job_event (infra/hooks/job-events.sh).
sh "$(dirname "$0")/job-events.sh"
