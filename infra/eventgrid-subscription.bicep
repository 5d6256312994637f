// The Event Grid subscription from the data lake's system topic to the function
// drift_on_storage_event. Deployed by infra/hooks/postdeploy.sh after `azd deploy`, into the
// system topic's resource group, once per watched container: Azure validates an AzureFunction
// endpoint when the subscription is created and rejects it while the function does not exist,
// and on a first `azd up` the function only exists after the code is deployed.
//
// Filters (cheap, server-side; the app re-checks every event and acknowledges anything else):
// - event types BlobCreated and BlobRenamed;
// - the container: subject begins with /blobServices/default/containers/<container>/blobs/;
// - a Delta commit candidate: subject contains /_delta_log/ and ends with .json. For
//   BlobRenamed the subject is the blob's NEW name (data.destinationUrl), so a commit written as
//   a temporary file and renamed into place (Spark on ADLS Gen2) passes, the .tmp file does not;
// - data.api in FlushWithClose, PutBlob, PutBlockList, CopyBlob (the file is complete; on ADLS
//   Gen2 the CreateFile event of an empty file comes first and is dropped) or RenameFile (what
//   BlobRenamed carries for a file; renaming a directory is a DirectoryRenamed event with
//   RenameDirectory, which never announces a commit file and is not subscribed to).
targetScope = 'resourceGroup'

@description('The Event Grid system topic on the data lake account (this resource group).')
param systemTopicName string

@description('Data lake container whose commits this subscription delivers.')
@minLength(3)
@maxLength(63)
param containerName string

@description('Resource id of the Function App.')
param functionAppResourceId string

@description('The Event Grid triggered function.')
param functionName string = 'drift_on_storage_event'

@description('Resource id of the storage account holding the dead-letter container (the app\'s own).')
param deadLetterStorageAccountResourceId string

param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Delivery schema; the app accepts both.')
@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
param eventDeliverySchema string = 'EventGridSchema'

@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

param subscriptionName string = take('drift-${containerName}', 64)

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppResourceId}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: eventDeliverySchema
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
        'Microsoft.Storage.BlobRenamed'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${containerName}/blobs/'
      isSubjectCaseSensitive: false
      advancedFilters: [
        {
          operatorType: 'StringContains'
          key: 'subject'
          values: [
            '/_delta_log/'
          ]
        }
        {
          operatorType: 'StringEndsWith'
          key: 'subject'
          values: [
            '.json'
          ]
        }
        {
          operatorType: 'StringIn'
          key: 'data.api'
          values: [
            'FlushWithClose'
            'PutBlob'
            'PutBlockList'
            'CopyBlob'
            'RenameFile'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    // Undeliverable events go to the app's storage, written by the system topic's own identity
    // (Storage Blob Data Contributor on that container, infra/app/rbac.bicep): no key, no SAS.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountResourceId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output id string = subscription.id
output name string = subscription.name
