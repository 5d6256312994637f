#!/bin/sh
# Run by infra/hooks/postdeploy.sh: subscribe drift_on_job_event to the Azure ML workspace's
# Event Grid system topic (infra/ml-job-events.bicep), so a job's end wakes its monitor at once.
# After the code deploy for the same reason as the storage subscription; deployed with the Azure
# CLI into the workspace's resource group. Idempotent.
# DRIFT_ML_SYSTEM_TOPIC_NAME: the workspace's existing system topic, if it has one.
# DRIFT_SKIP_JOB_EVENTS_SUBSCRIPTION=true skips it: monitors then learn a job's end by polling.
set -eu
HOOK=postdeploy
. "$(dirname "$0")/common.sh"

if [ "${DRIFT_SKIP_JOB_EVENTS_SUBSCRIPTION:-false}" = "true" ]; then
  echo "$HOOK: DRIFT_SKIP_JOB_EVENTS_SUBSCRIPTION=true, no job status subscription deployed"
  exit 0
fi

need AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_FUNCTION_APP_ID \
  DRIFT_ML_WORKSPACE DRIFT_ML_WORKSPACE_RESOURCE_GROUP
need_az

function_name=drift_on_job_event
topic="${DRIFT_ML_SYSTEM_TOPIC_NAME:-drift-ml-job-events}"
schema="${DRIFT_EVENT_DELIVERY_SCHEMA:-EventGridSchema}"

wait_for_function "$function_name"

echo "$HOOK: Azure ML job status events of $DRIFT_ML_WORKSPACE -> $function_name ($schema)"
az deployment group create --only-show-errors \
  --subscription "$AZURE_SUBSCRIPTION_ID" \
  --resource-group "$DRIFT_ML_WORKSPACE_RESOURCE_GROUP" \
  --name drift-ml-job-events \
  --template-file "$INFRA_DIR/ml-job-events.bicep" \
  --parameters \
    mlWorkspaceName="$DRIFT_ML_WORKSPACE" \
    systemTopicName="$topic" \
    functionAppResourceId="$AZURE_FUNCTION_APP_ID" \
    functionName="$function_name" \
    eventDeliverySchema="$schema" \
  --query properties.outputs.id.value --output tsv
