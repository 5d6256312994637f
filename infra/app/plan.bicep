// The Flex Consumption plan (FC1): Linux, pay per execution, scales to zero.
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Spread instances over availability zones (regions that offer it for Flex Consumption only; the platform then keeps at least two always-ready instances, billed).')
param zoneRedundant bool = false

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy is the zoneRedundant parameter (off by default): it is offered in some Flex regions only and bills at least two always-ready instances; drift's state is durable in storage, so a zone outage delays a retrain, it loses none
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

output id string = plan.id
output name string = plan.name
