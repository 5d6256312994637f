// The Function App on Flex Consumption: Python 3.11, the user-assigned identity for everything
// (host storage, deployment package, App Insights, drift's Azure calls), HTTPS and TLS 1.2 only,
// FTP and basic-auth publishing off.
param name string
param location string = resourceGroup().location
param tags object = {}

@description('azd service name (azure.yaml) this app hosts.')
param serviceName string = 'api'

param appServicePlanId string
param storageAccountName string
param deploymentStorageContainerName string
param applicationInsightsName string

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

param maximumInstanceCount int = 100
param instanceMemoryMB int = 2048

@description('drift\'s app settings, as [{name, value}] (no secrets).')
param appSettings array = []

@description('vnetEnabled: the subnet (delegated to Microsoft.App/environments) the app\'s outbound traffic goes through; empty: no VNet integration.')
param virtualNetworkSubnetId string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Host storage by identity (Durable Functions needs blob, queue and table), App Insights
// by identity (Authorization=AAD), then drift's settings. Flex Consumption takes the worker
// runtime and version from functionAppConfig: FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_EXTENSION_VERSION must not be app settings.
var hostSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.properties.primaryEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storage.properties.primaryEndpoints.queue
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: storage.properties.primaryEndpoints.table
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
]

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: Event Grid delivers to the function's public webhook endpoint (POST /runtime/webhooks/eventgrid, system key) and /api/* are function-key endpoints; the app's inbound side stays public even with vnetEnabled (which covers its outbound traffic), since an Event Grid system topic cannot deliver to a private endpoint
  // checkov:skip=CKV_AZURE_17: Event Grid cannot present a client certificate, so requiring one would stop event delivery; callers authenticate with function/system keys over HTTPS (TLS 1.2)
  // checkov:skip=CKV_AZURE_212: numberOfWorkers does not apply to Flex Consumption, which scales per function from zero (maximumInstanceCount); durable state survives instance loss
  // checkov:skip=CKV_AZURE_213: Flex Consumption does not support the App Service health check; the host is watched through Application Insights
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: appServicePlanId
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(hostSettings, appSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentStorageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11' // requires-python >= 3.11 (pyproject.toml); the version CI tests
      }
    }
  }
}

// No FTP and no basic-auth (publishing profile) deployments; azd deploys with Entra ID.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
