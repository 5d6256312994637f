// drift's own custom role on an existing Azure ML workspace in this resource group, and its
// assignment to the app identity (called from access.bicep, which lists the actions).
//
// A custom role instead of AzureML Data Scientist: that built-in role allows every workspace
// action but compute and workspace writes (workspaces/*/read, */write, */delete, */action),
// including datastores/listsecrets/action, which hands out a datastore's account key or service
// principal secret. drift calls a handful of operations; the role names exactly those. It is a
// control-plane (Azure Resource Manager) role: Azure ML checks these actions on its REST API.
//
// The definition is assignable in this resource group only and named after the workspace, so
// two drift deployments against two workspaces do not share or overwrite a definition. Creating
// it needs Microsoft.Authorization/roleDefinitions/write here (Owner or User Access
// Administrator; Role Based Access Control Administrator may only assign roles).
param workspaceName string
param principalId string

@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'ServicePrincipal'

@description('Microsoft.MachineLearningServices actions the role allows (access.bicep).')
@minLength(1)
param actions array

param description string = ''

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: workspaceName
}

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, workspaceName, 'drift-azureml-runner')
  properties: {
    roleName: 'drift Azure ML runner (${workspaceName}, ${uniqueString(resourceGroup().id)})'
    description: 'drift: register data asset versions, create drift\'s own identity-based datastores, submit, watch and cancel jobs. No secrets, no compute, no workspace writes.'
    type: 'CustomRole'
    permissions: [
      {
        actions: actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, role.name)
  scope: workspace
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.name)
    description: description
  }
}

output roleDefinitionId string = role.id
output roleName string = role.properties.roleName
