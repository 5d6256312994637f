// drift on Azure: a Python Durable Functions app on Flex Consumption that reacts to Delta Lake
// commits in an existing ADLS Gen2 account and drives an existing Azure ML workspace.
//
// Everything authenticates with one user-assigned managed identity; no account key, connection
// string with a key, or publishing password exists anywhere. Deployed by `azd up` (see
// docs/deploy.md).
//
// This deployment creates and changes resources in its own resource group ONLY. `azd down`
// deletes every resource group that holds a resource of this deployment (nested module
// deployments included), so a role assignment on the data lake or on the Azure ML workspace
// made here would make `azd down` delete their resource groups. Hence two more templates,
// deployed with the Azure CLI by azure.yaml's hooks, never by azd:
// - access.bicep (postprovision): the app identity's roles on the data lake containers (and the
//   MLTable container it creates there) and its custom role on the Azure ML workspace, in their
//   resource groups;
// - eventgrid-subscription.bicep (postdeploy): the subscription to the function, which Azure
//   only accepts once the function exists, i.e. after the code is deployed.
targetScope = 'subscription'

// ------------------------------------------------------------------------------------ azd
@minLength(1)
@maxLength(64)
@description('Name of the azd environment; with the subscription and location it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of the new resource group and of the Flex Consumption app (pick a region that offers Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of whoever runs azd. It gets Key Vault Secrets Officer on the vault (useKeyVault only, to store the service principal secrets) and Storage Blob Data Reader on the Event Grid dead-letter container. Empty: no role.')
param principalId string = ''

@description('Kind of principalId: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Resource group to create; default rg-<environmentName>.')
param resourceGroupName string = ''

// ---------------------------------------------------------- what drift watches and drives
@description('Existing ADLS Gen2 storage account holding the watched Delta tables.')
@minLength(3)
@maxLength(24)
param dataLakeStorageAccountName string

@description('Resource group of the data lake account (same subscription). Nothing is deployed to it by azd; the postprovision hook grants the app read access to the containers there.')
@minLength(1)
param dataLakeResourceGroupName string

@description('Comma-separated blob containers of the data lake holding watched tables (e.g. "data" or "data,features"). The app may read these containers only, and one Event Grid subscription is created per container (both by hooks).')
@minLength(3)
param dataLakeContainerNames string

@description('Existing Azure ML workspace where drift registers data assets and submits jobs.')
@minLength(1)
param mlWorkspaceName string

@description('Resource group of the Azure ML workspace (same subscription).')
@minLength(1)
param mlWorkspaceResourceGroupName string

// ----------------------------------------------------------------------------- the app
@description('DRIFT_CONFIG: a drift YAML file or folder of them, deployed with the app code, relative to the app root.')
param driftConfig string = 'configs'

@description('DRIFT_SCHEDULE: NCRONTAB of the weekly timer (seconds first), UTC.')
param driftSchedule string = '0 0 8 * * 1'

@description('Create a Key Vault (RBAC authorization) for the reference job\'s service principal path and set DRIFT_KEY_VAULT_NAME / DRIFT_TENANT_ID. Off: drift acts as its managed identity only.')
param useKeyVault bool = false

@description('Azure allows one Event Grid system topic per storage account. If the data lake account already has one, its name; drift then uses it instead of creating one (it needs a system-assigned identity, for dead-lettering). Empty: drift creates its own in its resource group.')
param existingSystemTopicName string = ''

@description('Resource group of that existing system topic.')
param existingSystemTopicResourceGroup string = ''

@description('Schema Event Grid delivers to the function in; the app accepts both.')
@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
param eventDeliverySchema string = 'EventGridSchema'

@description('Publish drift\'s own events (dataset version registered, retraining started and finished) to a new Event Grid topic (CloudEvents 1.0; infra/app/drift-events-topic.bicep).')
param publishDriftEvents bool = false

@description('Flex Consumption: most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Flex Consumption: memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption: zone-redundant plan (only in regions that support it; keeps at least two always-ready instances, billed).')
param zoneRedundant bool = false

// ---------------------------------------------------- durable backend, network, operations
@description('Durable Functions backend: the Durable Task Scheduler (default; managed, with its own dashboard) or the app\'s storage account (Azure Storage provider).')
@allowed([
  'DurableTaskScheduler'
  'AzureStorage'
])
param durableBackend string = 'DurableTaskScheduler'

@description('Durable Task Scheduler SKU: Consumption (pay per action) or Dedicated (reserved capacity units).')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSku string = 'Consumption'

@description('Dedicated SKU only: capacity units of the scheduler.')
@minValue(1)
param durableTaskSchedulerCapacity int = 1

@description('VNet integration of the app with private endpoints for its storage and Key Vault, whose public access is then off. The data lake, the Azure ML workspace and the scheduler stay as they are (docs/deploy.md).')
param vnetEnabled bool = false

@description('Data lake container (created by the postprovision hook) where drift writes MLTable files; the app\'s only write access on the data lake.')
@minLength(3)
@maxLength(63)
param mlTablesContainerName string = 'drift-mltables'

@description('E-mail address the failed-retraining alert notifies; empty: the alert fires without a notification.')
param alertEmail string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}drift-${resourceToken}'
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
var deadLetterContainerName = 'eventgrid-deadletter'
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
var useExistingTopic = !empty(existingSystemTopicName)
var systemTopicName = useExistingTopic ? existingSystemTopicName : '${abbrs.eventGridSystemTopics}drift-${resourceToken}'
var dataLakeContainers = split(replace(dataLakeContainerNames, ' ', ''), ',')
var useDurableTaskScheduler = durableBackend == 'DurableTaskScheduler'
var schedulerName = '${abbrs.durableTaskSchedulers}drift-${resourceToken}'
// drift's own settings (drift/functions/settings.py, drift/backends/azure_credentials.py). No
// secret is an app setting: the service principal path reads its secrets from the vault at run
// time, as the identity, so there is no @Microsoft.KeyVault(SecretUri=...) reference to make.
var driftSettings = [
  {
    name: 'DRIFT_CONFIG'
    value: driftConfig
  }
  {
    name: 'DRIFT_SCHEDULE'
    value: driftSchedule
  }
  {
    name: 'DRIFT_EVENTS_TOPIC_ENDPOINT' // empty: drift publishes no events
    value: publishDriftEvents ? driftEvents.outputs.endpoint : ''
  }
]
// The durable backend (host.json: storageProvider azureManaged, hub %TASKHUB_NAME%). The
// scheduler is reached by identity: the connection string carries no secret, only the endpoint
// and the identity's client id. The Azure Storage alternative overrides host.json's provider with
// AzureFunctionsJobHost__* app settings (the Functions host's documented override) and keeps its
// task hub in AzureWebJobsStorage.
var schedulerSettings = [
  {
    name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
    value: 'Endpoint=${useDurableTaskScheduler ? durableTaskScheduler.outputs.endpoint : ''};Authentication=ManagedIdentity;ClientID=${identity.outputs.clientId}'
  }
  {
    name: 'TASKHUB_NAME'
    value: useDurableTaskScheduler ? durableTaskScheduler.outputs.taskHubName : ''
  }
]
var azureStorageSettings = [
  {
    name: 'TASKHUB_NAME'
    value: 'DriftHub'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type'
    value: 'AzureStorage'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName'
    value: 'AzureWebJobsStorage'
  }
]
var durableSettings = useDurableTaskScheduler ? schedulerSettings : azureStorageSettings
var keyVaultSettings = [
  {
    name: 'DRIFT_KEY_VAULT_NAME'
    value: keyVaultName
  }
  {
    name: 'DRIFT_TENANT_ID'
    value: tenant().tenantId
  }
]

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// The one identity the app runs as: host storage, App Insights, data lake, Azure ML, Key Vault.
module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}drift-${resourceToken}'
    location: location
    tags: tags
  }
}

// The app's own storage: the Functions host, the deployment package container, the Event Grid
// dead-letter container, and the task hub DriftHub with the Azure Storage durable backend.
module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containerNames: [
      deploymentStorageContainerName
      deadLetterContainerName
    ]
    vnetEnabled: vnetEnabled
  }
}

// The durable backend by default: a Durable Task Scheduler and its task hub.
module durableTaskScheduler 'app/dts.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    name: schedulerName
    location: location
    tags: tags
    skuName: durableTaskSchedulerSku
    capacity: durableTaskSchedulerCapacity
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = if (useKeyVault) {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    vnetEnabled: vnetEnabled
  }
}

// vnetEnabled: the app's outbound traffic through a VNet, private endpoints for its storage
// (the services the durable backend uses) and the Key Vault.
module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}drift-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    storageServices: useDurableTaskScheduler ? ['blob'] : ['blob', 'queue', 'table']
    keyVaultName: useKeyVault ? keyVaultName : ''
  }
  dependsOn: [
    keyVault
  ]
}

module plan 'app/plan.bicep' = {
  name: 'plan'
  scope: rg
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    zoneRedundant: zoneRedundant
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    serviceName: 'api'
    appServicePlanId: plan.outputs.id
    storageAccountName: storage.outputs.name
    deploymentStorageContainerName: deploymentStorageContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: concat(driftSettings, durableSettings, useKeyVault ? keyVaultSettings : [])
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
  }
}

// Audit trail: Key Vault, app storage and the app's logs into Log Analytics.
module diagnostics 'app/diagnostics.bicep' = {
  name: 'diagnostics'
  scope: rg
  params: {
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    storageAccountName: storage.outputs.name
    functionAppName: api.outputs.name
    keyVaultName: useKeyVault ? keyVaultName : ''
  }
  dependsOn: [
    keyVault
  ]
}

// An alert on drift's run report when a retraining fails, optionally by e-mail.
module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    name: 'alert-drift-retraining-failed-${resourceToken}'
    location: location
    tags: tags
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    alertEmail: alertEmail
  }
}

// Read-only references to what already exists elsewhere: nothing is deployed to those groups.
resource dataLake 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: dataLakeStorageAccountName
  scope: resourceGroup(dataLakeResourceGroupName)
}

resource existingTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = if (useExistingTopic) {
  name: existingSystemTopicName
  scope: resourceGroup(existingSystemTopicResourceGroup)
}

// Event Grid system topic on the data lake account: in this resource group, in the account's
// region (a system topic lives in its source's region), unless the account already has one.
module eventGridTopic 'app/eventgrid-topic.bicep' = if (!useExistingTopic) {
  name: 'eventgrid-topic'
  scope: rg
  params: {
    name: systemTopicName
    location: dataLake.location
    sourceId: dataLake.id
    tags: tags
  }
}

// drift's own events: an optional topic; the app identity may only send to it.
module driftEvents 'app/drift-events-topic.bicep' = if (publishDriftEvents) {
  name: 'drift-events-topic'
  scope: rg
  params: {
    name: 'evgt-drift-${resourceToken}' // the azd abbreviation of an Event Grid topic
    location: location
    tags: tags
    senderPrincipalId: identity.outputs.principalId
  }
}

// The role assignments inside this resource group, least privilege; no Owner or Contributor
// anywhere. The app identity's roles on the data lake and the workspace are in access.bicep.
module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    deadLetterContainerName: deadLetterContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    systemTopicPrincipalId: useExistingTopic ? existingTopic.identity.principalId : eventGridTopic.outputs.principalId
    useKeyVault: useKeyVault
    keyVaultName: useKeyVault ? keyVaultName : ''
    useDurableTaskScheduler: useDurableTaskScheduler
    schedulerName: useDurableTaskScheduler ? durableTaskScheduler.outputs.schedulerName : ''
    taskHubName: useDurableTaskScheduler ? durableTaskScheduler.outputs.taskHubName : ''
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
  dependsOn: [
    keyVault
  ]
}

// Outputs land in .azure/<env>/.env, where the hooks (infra/hooks/*.sh) read them. The
// identity's client id is deliberately not output as AZURE_CLIENT_ID: in .env that name would
// make every DefaultAzureCredential on the deployer's machine try to act as the app's identity.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_ID string = api.outputs.id
output DRIFT_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output DRIFT_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output DRIFT_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output DRIFT_DEAD_LETTER_STORAGE_ID string = storage.outputs.id
output DRIFT_DEAD_LETTER_CONTAINER string = deadLetterContainerName
output DRIFT_EVENTGRID_SYSTEM_TOPIC_NAME string = systemTopicName
output DRIFT_EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP string = useExistingTopic ? existingSystemTopicResourceGroup : rg.name
output DRIFT_DATA_LAKE_ACCOUNT string = dataLakeStorageAccountName
output DRIFT_DATA_LAKE_RESOURCE_GROUP string = dataLakeResourceGroupName
output DRIFT_DATA_LAKE_CONTAINERS string = join(dataLakeContainers, ',')
output DRIFT_ML_WORKSPACE string = mlWorkspaceName
output DRIFT_ML_WORKSPACE_RESOURCE_GROUP string = mlWorkspaceResourceGroupName
output DRIFT_EVENT_DELIVERY_SCHEMA string = eventDeliverySchema
output DRIFT_EVENTS_TOPIC_ENDPOINT string = publishDriftEvents ? driftEvents.outputs.endpoint : ''
output DRIFT_KEY_VAULT_NAME string = useKeyVault ? keyVaultName : ''
output DRIFT_MLTABLES_CONTAINER string = mlTablesContainerName
output DRIFT_DURABLE_BACKEND string = durableBackend
output DRIFT_DURABLE_TASK_SCHEDULER string = useDurableTaskScheduler ? durableTaskScheduler.outputs.schedulerName : ''
output DRIFT_DURABLE_TASK_HUB string = useDurableTaskScheduler ? durableTaskScheduler.outputs.taskHubName : 'DriftHub'
output DRIFT_DURABLE_DASHBOARD_URL string = useDurableTaskScheduler ? durableTaskScheduler.outputs.dashboardUrl : ''
