// Diagnostic settings: the audit trail of the app's own resources in the Log Analytics
// workspace (issue 11.5). Key Vault: every secret read and write (AuditEvent, category group
// "audit"). App storage: every read, write and delete on its blobs, queues and tables
// (StorageRead, StorageWrite, StorageDelete: category group "allLogs" of each service; the
// account itself only has metrics). The function app: FunctionAppLogs (host and function logs,
// also those of the HTTP and webhook endpoints). The data lake and the Azure ML workspace belong
// to their owners, who decide their own diagnostic settings (docs/deploy.md).
param logAnalyticsId string
param storageAccountName string
param functionAppName string

@description('Key Vault to audit; empty: none.')
param keyVaultName string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (!empty(keyVaultName)) {
  name: keyVaultName
}

var storageLogs = [
  {
    categoryGroup: 'allLogs'
    enabled: true
  }
]

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'drift-audit'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsId
    logs: storageLogs
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'drift-audit'
  scope: queueService
  properties: {
    workspaceId: logAnalyticsId
    logs: storageLogs
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'drift-audit'
  scope: tableService
  properties: {
    workspaceId: logAnalyticsId
    logs: storageLogs
  }
}

resource appDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'drift-audit'
  scope: functionApp
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(keyVaultName)) {
  name: 'drift-audit'
  scope: vault
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}
