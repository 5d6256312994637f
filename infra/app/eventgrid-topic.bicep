// Event Grid system topic on the existing data lake account, created in drift's own resource
// group (so `azd down` removes it and never touches the data lake's group) and in the account's
// region (a system topic lives in its source's region). Its system-assigned identity writes dead
// letters (Storage Blob Data Contributor on the app's dead-letter container, rbac.bicep). The
// subscription to the function is deployed after the code, by infra/hooks/postdeploy.sh with
// infra/eventgrid-subscription.bicep.
param name string

@description('Region of the data lake account.')
param location string

@description('Resource id of the data lake storage account.')
param sourceId string

param tags object = {}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: sourceId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output id string = systemTopic.id
output name string = systemTopic.name
output principalId string = systemTopic.identity.principalId
