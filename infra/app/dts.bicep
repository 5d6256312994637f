// Durable Task Scheduler: drift's durable backend by default (Microsoft's recommended backend
// for Durable Functions, with its own monitoring dashboard). One scheduler and one task hub; the
// app reaches it as its user-assigned identity (Durable Task Data Contributor on the task hub,
// rbac.bicep) through the identity-based connection string set in main.bicep:
//   Endpoint=<endpoint>;Authentication=ManagedIdentity;ClientID=<client id>
// Names, API version, SKUs and properties: Azure/azure-rest-api-specs
// specification/durabletask/resource-manager/Microsoft.DurableTask/DurableTask/{scheduler,taskhub}.tsp
// (API 2025-11-01, the stable version that has the Consumption SKU); see docs/deploy.md.
@minLength(3)
@maxLength(64)
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Task hub name (3-64 letters, digits, hyphens); the app setting TASKHUB_NAME.')
@minLength(3)
@maxLength(64)
param taskHubName string = 'drift'

@description('Consumption: pay per action, no capacity to size. Dedicated: reserved capacity units.')
@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

@description('Dedicated SKU only: capacity units (3 make it zone redundant where the region allows).')
@minValue(1)
param capacity int = 1

@description('Addresses allowed to reach the scheduler endpoint. An empty list denies all traffic; every call is also authorized by Entra ID (RBAC).')
param ipAllowlist array = [
  '0.0.0.0/0'
]

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ipAllowlist
    sku: {
      name: skuName
      capacity: skuName == 'Dedicated' ? capacity : null
    }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output schedulerName string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
output dashboardUrl string = taskHub.properties.dashboardUrl
