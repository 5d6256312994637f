// One role on an existing Azure ML workspace in this resource group (called from rbac.bicep,
// which holds the role definition ids).
param workspaceName string
param principalId string

@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'ServicePrincipal'

@description('Role definition id (a GUID), from rbac.bicep.')
param roleDefinitionId string

param description string = ''

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: workspaceName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, roleDefinitionId)
  scope: workspace
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
    description: description
  }
}
