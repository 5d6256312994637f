// The role assignments inside drift's resource group, least privilege, all data-plane roles: no
// Owner, Contributor or other control-plane write role anywhere (the app identity's custom Azure
// ML role in access.bicep is the one control-plane role, and it is not here). Assignment names are
// guid(scope id, principal id, role definition id): stable across redeployments, so a rerun
// updates instead of duplicating. The app identity's roles on the data lake and the Azure ML
// workspace live in other resource groups and are in infra/access.bicep, which the
// postprovision hook deploys: an azd deployment must not touch other groups (`azd down` would
// delete them).

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor
var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1' // Storage Blob Data Reader
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7' // Key Vault Secrets Officer
var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402' // Durable Task Data Contributor
var durableTaskDataReader = 'd6a5505f-6ebb-45a4-896e-ac8274cfc0ac' // Durable Task Data Reader

@description('Principal (object) id of the app\'s user-assigned managed identity.')
param appPrincipalId string

@description('The app\'s own storage account (this resource group).')
param storageAccountName string

@description('Dead-letter container in that account.')
param deadLetterContainerName string

param applicationInsightsName string

@description('Principal id of the Event Grid system topic\'s system-assigned identity.')
param systemTopicPrincipalId string

param useKeyVault bool = false
param keyVaultName string = ''

@description('Durable backend: the Durable Task Scheduler (true) or the app storage account (false).')
param useDurableTaskScheduler bool = true

@description('The scheduler and task hub (Durable Task Scheduler backend only).')
param schedulerName string = ''
param taskHubName string = ''

@description('Whoever runs azd (empty: no role).')
param deployerPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (useKeyVault) {
  name: keyVaultName
}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' existing = if (useDurableTaskScheduler) {
  name: schedulerName
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' existing = if (useDurableTaskScheduler) {
  parent: scheduler
  name: taskHubName
}

// ---------------------------------------------------------------- app identity, own storage
// The Functions host with identity-based AzureWebJobsStorage needs Storage Blob Data Owner: "the
// runtime needs both read and write access to blobs and the ability to create containers"
// (MicrosoftDocs/azure-docs includes/functions-azurewebjobsstorage-permissions.md); it also
// covers the Flex deployment package. Queues and tables only serve the Durable Functions Azure
// Storage backend ("Storage Blob Data Contributor, Storage Queue Data Contributor, Storage Table
// Data Contributor", includes/functions-durable-permissions.md), so they are granted with that
// backend only; with the Durable Task Scheduler the app holds no queue or table role.
resource appStorageBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    description: 'drift: Functions host blobs and leases, deployment package (and Azure Storage task hub blobs)'
  }
}

resource appStorageQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!useDurableTaskScheduler) {
  name: guid(storage.id, appPrincipalId, storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    description: 'drift: Durable Functions control and work-item queues (Azure Storage backend)'
  }
}

resource appStorageTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!useDurableTaskScheduler) {
  name: guid(storage.id, appPrincipalId, storageTableDataContributor)
  scope: storage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    description: 'drift: Durable Functions history and instance tables (Azure Storage backend)'
  }
}

// ------------------------------------------------------- app identity, Durable Task Scheduler
// "Most Durable Functions apps require the Durable Task Data Contributor role" (durable task
// scheduler identity docs): drift's client starts, queries and terminates instances, so Worker
// alone is not enough. Scoped to drift's task hub, not the whole scheduler.
resource appDurableTask 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useDurableTaskScheduler) {
  name: guid(taskHub.id, appPrincipalId, durableTaskDataContributor)
  scope: taskHub
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    description: 'drift: run and manage orchestrations, activities and entities in the task hub'
  }
}

// ------------------------------------------------------------------ app identity, telemetry
resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    description: 'drift: send telemetry to Application Insights with Entra ID (local auth is off)'
  }
}

// -------------------------------------------------------------- app identity, Key Vault path
resource appSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useKeyVault) {
  name: guid(vault.id, appPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    description: 'drift: read ApplicationID / ApplicationPassword of the service principal path'
  }
}

resource deployerSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useKeyVault && !empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    description: 'drift: the deployer stores the service principal secrets (RBAC vaults grant nobody data access by default)'
  }
}

// -------------------------------------------------------- Event Grid dead letters (identity)
resource topicDeadLetter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopicPrincipalId, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    principalId: systemTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    description: 'drift: Event Grid system topic writes undeliverable events here'
  }
}

resource deployerDeadLetter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(deadLetterContainer.id, deployerPrincipalId, storageBlobDataReader)
  scope: deadLetterContainer
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReader)
    description: 'drift: the deployer can inspect dead-lettered events'
  }
}

// ------------------------------------------------------- the deployer, the scheduler dashboard
// Read-only: the dashboard lists orchestrations and shows their history and payloads. Managing
// instances from the dashboard (terminate, purge, raise events) needs Durable Task Data
// Contributor, which this template does not hand out (docs/deploy.md says how).
resource deployerDurableTask 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useDurableTaskScheduler && !empty(deployerPrincipalId)) {
  name: guid(taskHub.id, deployerPrincipalId, durableTaskDataReader)
  scope: taskHub
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataReader)
    description: 'drift: the deployer can watch runs in the Durable Task Scheduler dashboard'
  }
}
