// One role on some blob containers of an existing storage account in this resource group
// (called from rbac.bicep, which holds the role definition ids).
param storageAccountName string
param containerNames array
param principalId string

@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'ServicePrincipal'

@description('Role definition id (a GUID), from rbac.bicep.')
param roleDefinitionId string

param description string = ''

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
  }
]

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, i) in containerNames: {
    name: guid(containers[i].id, principalId, roleDefinitionId)
    scope: containers[i]
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
      description: description
    }
  }
]
