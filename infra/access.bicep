// The app identity's roles OUTSIDE drift's resource group: Storage Blob Data Reader on the
// watched data lake containers and AzureML Data Scientist on the Azure ML workspace.
//
// Deployed by infra/hooks/postprovision.sh with `az deployment sub create`, never by azd:
// `azd down` deletes every resource group that holds a resource of an azd deployment, so these
// assignments in main.bicep would make it delete the data lake's and the workspace's resource
// groups. Assignment names are guid(scope id, principal id, role definition id); rerunning is
// idempotent. `azd down` leaves these assignments behind (see docs/deploy.md).
targetScope = 'subscription'

// Built-in role definition ids (the same in every tenant).
var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1' // Storage Blob Data Reader
var azureMLDataScientist = 'f6c7c914-8db3-469d-8ca1-694a8f32e121' // AzureML Data Scientist

@description('Principal (object) id of the app\'s user-assigned managed identity.')
param appPrincipalId string

param dataLakeStorageAccountName string
param dataLakeResourceGroupName string

@description('Comma-separated containers of the data lake the app may read.')
param dataLakeContainerNames string

param mlWorkspaceName string
param mlWorkspaceResourceGroupName string

var suffix = uniqueString(appPrincipalId)

// Read the watched containers' _delta_log commits: read-only, and only those containers.
module dataLakeReader 'app/role-storage-containers.bicep' = {
  name: 'drift-datalake-reader-${suffix}'
  scope: resourceGroup(dataLakeResourceGroupName)
  params: {
    storageAccountName: dataLakeStorageAccountName
    containerNames: split(replace(dataLakeContainerNames, ' ', ''), ',')
    principalId: appPrincipalId
    roleDefinitionId: storageBlobDataReader
    description: 'drift: read Delta commits of the watched tables'
  }
}

// Register data asset versions, clone, submit, watch and cancel jobs in the workspace.
module mlDataScientist 'app/role-ml-workspace.bicep' = {
  name: 'drift-ml-data-scientist-${suffix}'
  scope: resourceGroup(mlWorkspaceResourceGroupName)
  params: {
    workspaceName: mlWorkspaceName
    principalId: appPrincipalId
    roleDefinitionId: azureMLDataScientist
    description: 'drift: register data assets, submit, watch and cancel training jobs'
  }
}
