// The app's own storage account: the Functions host, the Flex Consumption deployment package,
// Event Grid dead letters, and with the Azure Storage durable backend only, the task hub
// DriftHub (blobs, queues, tables).
// Reached by managed identity only: shared key access is off, so no key or connection string
// with a key can work, let alone leak.
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Blob containers to create (deployment package, dead letters).')
param containerNames array = []

@description('vnetEnabled: the app reaches this account through private endpoints (network.bicep) and the public endpoint denies everything but trusted Azure services.')
param vnetEnabled bool = false

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the default rule is Deny with vnetEnabled; without it (the default) a Flex Consumption app has no fixed outbound address and reaches its host storage through the public endpoint; access is Entra ID (RBAC) only, shared keys are disabled
  // checkov:skip=CKV_AZURE_59: with vnetEnabled the public endpoint admits only trusted Azure services (Event Grid dead-lettering with its managed identity); without it the Functions host and the deployment package need it, all authenticated by managed identity
  // checkov:skip=CKV_AZURE_206: LRS is enough for the task hub, the deployment package and dead letters; drift's data lives in the data lake and Azure ML, and ZRS/GRS is not offered in every Flex region
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Not 'Disabled' even with vnetEnabled: that also shuts out trusted Azure services, and the
    // Event Grid system topic dead-letters here with its managed identity from outside the VNet.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
