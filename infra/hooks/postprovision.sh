#!/bin/sh
# azd postprovision hook: give the app identity its roles outside drift's resource group
# (infra/access.bicep): Storage Blob Data Reader on the watched data lake containers, Storage Blob
# Data Contributor on drift's MLTable container (created there), and drift's custom Azure ML role
# on the workspace. DRIFT_ML_CREATE_DATASTORES=false leaves datastores/write out of that role.
#
# Why not in main.bicep: `azd down` deletes every resource group that holds a resource of the
# azd deployment, so these role assignments there would make it delete the data lake's and the
# workspace's resource groups. Deployed with the Azure CLI, azd never sees them. Idempotent.
set -eu
HOOK=postprovision
. "$(dirname "$0")/common.sh"

need AZURE_SUBSCRIPTION_ID AZURE_LOCATION AZURE_ENV_NAME DRIFT_IDENTITY_PRINCIPAL_ID \
  DRIFT_DATA_LAKE_ACCOUNT DRIFT_DATA_LAKE_RESOURCE_GROUP DRIFT_DATA_LAKE_CONTAINERS \
  DRIFT_MLTABLES_CONTAINER DRIFT_ML_WORKSPACE DRIFT_ML_WORKSPACE_RESOURCE_GROUP
need_az

echo "$HOOK: roles of the app identity on the data lake containers and the Azure ML workspace"
az deployment sub create --only-show-errors \
  --subscription "$AZURE_SUBSCRIPTION_ID" \
  --location "$AZURE_LOCATION" \
  --name "drift-access-$(printf '%s' "$AZURE_ENV_NAME" | cut -c1-50)" \
  --template-file "$INFRA_DIR/access.bicep" \
  --parameters \
    appPrincipalId="$DRIFT_IDENTITY_PRINCIPAL_ID" \
    dataLakeStorageAccountName="$DRIFT_DATA_LAKE_ACCOUNT" \
    dataLakeResourceGroupName="$DRIFT_DATA_LAKE_RESOURCE_GROUP" \
    dataLakeContainerNames="$DRIFT_DATA_LAKE_CONTAINERS" \
    mlTablesContainerName="$DRIFT_MLTABLES_CONTAINER" \
    mlWorkspaceName="$DRIFT_ML_WORKSPACE" \
    mlWorkspaceResourceGroupName="$DRIFT_ML_WORKSPACE_RESOURCE_GROUP" \
    mlCreateDatastores="${DRIFT_ML_CREATE_DATASTORES:-true}" \
  --query properties.provisioningState --output tsv
