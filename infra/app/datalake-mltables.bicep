// The one data lake container drift writes to: its MLTable files (one folder per registered
// version), written by the app identity and registered in Azure ML by their datastore URI, so
// registration never needs the workspace storage's key (issue 11.1). The container is created
// here, on the existing data lake account, and the app identity may write there and nowhere
// else on the account (Storage Blob Data Contributor scoped to this container; the watched
// containers stay read-only). Called from access.bicep, in the data lake's resource group.
param storageAccountName string

@minLength(3)
@maxLength(63)
param containerName string

param principalId string

@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'ServicePrincipal'

@description('Role definition id (a GUID), from access.bicep.')
param roleDefinitionId string

param description string = ''

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, roleDefinitionId)
  scope: container
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
    description: description
  }
}

output containerName string = container.name
