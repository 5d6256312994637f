// drift's own events (drift/backends/publish.py): an Event Grid custom topic taking CloudEvents 1.0
// (drift.dataset_version.registered, drift.retraining.started, drift.retraining.finished), and
// the one role the app needs on it: EventGrid Data Sender, for its managed identity. No access
// key: local (key and SAS) authentication is disabled. Optional: main.bicep deploys it when
// publishDriftEvents is true and passes its endpoint as DRIFT_EVENTS_TOPIC_ENDPOINT.
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Principal id of the app identity that publishes.')
param senderPrincipalId string

var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7' // EventGrid Data Sender

resource topic 'Microsoft.EventGrid/topics@2022-06-15' = {
  // checkov:skip=CKV_AZURE_193: a Flex Consumption app without VNet integration publishes over the public endpoint; every request is authorized by Entra ID (EventGrid Data Sender), keys and SAS are disabled
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned' // for subscriptions that deliver or dead-letter with managed identity
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource appSends 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, senderPrincipalId, eventGridDataSender)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
    principalId: senderPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = topic.id
output name string = topic.name
output endpoint string = topic.properties.endpoint
