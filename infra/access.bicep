// The app identity's roles OUTSIDE drift's resource group:
// - Storage Blob Data Reader on each watched data lake container (read Delta commits);
// - Storage Blob Data Contributor on one dedicated data lake container, created here (default
//   drift-mltables), where drift writes its MLTable files;
// - drift's own custom role on the Azure ML workspace (exactly the actions below), instead of
//   AzureML Data Scientist.
//
// Deployed by infra/hooks/postprovision.sh with `az deployment sub create`, never by azd:
// `azd down` deletes every resource group that holds a resource of an azd deployment, so these
// assignments in main.bicep would make it delete the data lake's and the workspace's resource
// groups. Assignment names are guid(scope id, principal id, role definition id); rerunning is
// idempotent. `azd down` leaves these assignments, the custom role and the MLTable container
// behind (see docs/deploy.md).
targetScope = 'subscription'

// Built-in role definition ids (the same in every tenant).
var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1' // Storage Blob Data Reader
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor

// What drift calls in the workspace, as Azure RBAC actions. Each string is in "Azure permissions
// for AI + machine learning" (MicrosoftDocs/azure-docs
// articles/role-based-access-control/permissions/ai-machine-learning.md); docs/deploy.md maps
// each to the SDK call that needs it. Not here on purpose: any action that lists a secret or a
// key (datastores/listsecrets, connections/listsecrets, the workspace's key listings), any
// delete, compute, endpoint or model action.
var mlReadActions = [
  'Microsoft.MachineLearningServices/workspaces/read'
  'Microsoft.MachineLearningServices/workspaces/datastores/read'
  'Microsoft.MachineLearningServices/workspaces/data/read'
  'Microsoft.MachineLearningServices/workspaces/data/versions/read'
  'Microsoft.MachineLearningServices/workspaces/jobs/read'
]
// What Azure ML resolves when drift resubmits a cloned job: the registered environment (and its
// image build when not cached), code, components of a pipeline, the compute and the
// experiment the clone names. Taken from the "Submitting any type of run (V2)" row of
// MicrosoftDocs/azure-docs articles/machine-learning/how-to-assign-roles.md ("Common
// scenarios"), whose "/workspaces/*/read" is spelled out here; its writes of new environments,
// code and artifacts and environments/readSecrets/action are left out: a clone reuses
// registered assets, and readSecrets returns an environment's registry credentials.
var mlSubmitActions = [
  'Microsoft.MachineLearningServices/workspaces/environments/read'
  'Microsoft.MachineLearningServices/workspaces/environments/versions/read'
  'Microsoft.MachineLearningServices/workspaces/environments/build/action'
  'Microsoft.MachineLearningServices/workspaces/codes/read'
  'Microsoft.MachineLearningServices/workspaces/codes/versions/read'
  'Microsoft.MachineLearningServices/workspaces/components/read'
  'Microsoft.MachineLearningServices/workspaces/components/versions/read'
  'Microsoft.MachineLearningServices/workspaces/computes/read'
  'Microsoft.MachineLearningServices/workspaces/experiments/read'
]
var mlWriteActions = [
  'Microsoft.MachineLearningServices/workspaces/data/write'
  'Microsoft.MachineLearningServices/workspaces/data/versions/write'
  'Microsoft.MachineLearningServices/workspaces/jobs/write'
  'Microsoft.MachineLearningServices/workspaces/jobs/cancel/action'
]
// Only to create drift's own identity-based datastores (drift_lake, drift_mltables) when they
// are missing. Azure RBAC cannot limit a write to some datastore names: if an administrator
// creates them beforehand, mlCreateDatastores=false leaves this action out.
var mlDatastoreWriteActions = [
  'Microsoft.MachineLearningServices/workspaces/datastores/write'
]

@description('Principal (object) id of the app\'s user-assigned managed identity.')
param appPrincipalId string

param dataLakeStorageAccountName string
param dataLakeResourceGroupName string

@description('Comma-separated containers of the data lake the app may read.')
param dataLakeContainerNames string

@description('Container of the data lake, created here, where drift writes MLTable files; the only place the app may write on the data lake.')
@minLength(3)
@maxLength(63)
param mlTablesContainerName string = 'drift-mltables'

param mlWorkspaceName string
param mlWorkspaceResourceGroupName string

@description('true: drift may create its identity-based datastores (datastores/write). false: they exist already and the role leaves the write out.')
param mlCreateDatastores bool = true

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

// Write MLTable files: read-write, and only in drift's own container.
module mlTablesWriter 'app/datalake-mltables.bicep' = {
  name: 'drift-datalake-mltables-${suffix}'
  scope: resourceGroup(dataLakeResourceGroupName)
  params: {
    storageAccountName: dataLakeStorageAccountName
    containerName: mlTablesContainerName
    principalId: appPrincipalId
    roleDefinitionId: storageBlobDataContributor
    description: 'drift: write the MLTable files of registered data asset versions'
  }
}

// Register data asset versions, create its datastores, submit, watch and cancel jobs.
module mlRunner 'app/role-ml-workspace.bicep' = {
  name: 'drift-ml-runner-${suffix}'
  scope: resourceGroup(mlWorkspaceResourceGroupName)
  params: {
    workspaceName: mlWorkspaceName
    principalId: appPrincipalId
    actions: concat(mlReadActions, mlSubmitActions, mlWriteActions, mlCreateDatastores ? mlDatastoreWriteActions : [])
    description: 'drift: register data assets, submit, watch and cancel training jobs'
  }
}

output mlRoleDefinitionId string = mlRunner.outputs.roleDefinitionId
output mlRoleName string = mlRunner.outputs.roleName
