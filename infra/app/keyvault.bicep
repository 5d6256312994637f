// Optional Key Vault (useKeyVault) for the reference job's service principal path: secrets
// ApplicationID and ApplicationPassword (base64), read at run time by the app's identity with
// Key Vault Secrets User (rbac.bicep). RBAC authorization only, no access policies.
param name string
param location string = resourceGroup().location
param tags object = {}

@description('vnetEnabled: the app reaches the vault through a private endpoint (network.bicep); public network access is off.')
param vnetEnabled bool = false

var publicNetworkAccess = vnetEnabled ? 'Disabled' : 'Enabled'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: the firewall denies all with vnetEnabled; without it (the default) a Flex Consumption app has no fixed outbound address to allow; every request is authorized by RBAC (the app identity may read secrets, the deployer may write them)
  // checkov:skip=CKV_AZURE_189: public network access is Disabled with vnetEnabled; without it the app needs the public endpoint for the same reason as CKV_AZURE_109
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
