// Azure ML job status events -> the function drift_on_job_event, which wakes the monitor of
// the job (drift/durable/job_events.py). Deployed by infra/hooks/job-events.sh after `azd deploy`
// (Azure validates an AzureFunction endpoint when the subscription is created), with the
// Azure CLI into the workspace's resource group, like access.bicep: `azd down` never sees it.
//
// The system topic on the workspace is created here unless the workspace has one already
// (Azure allows one per source): then pass its name as systemTopicName.
//
// Filters, as tight as Event Grid allows (the app re-checks and acknowledges anything else):
// - event type RunStatusChanged only (a RunCompleted says nothing a Completed status does not);
// - data.runStatus: the statuses drift treats as the end of a job (drift/domain/types.py);
// - data.runTags.drift_managed = true: only jobs drift submitted (drift/domain/plan.py tags them; a
//   tag name with a dot cannot be a filter key, as keys are dot paths).
// A lost or late event costs only latency: the monitor's durable timer still polls. So no
// dead-lettering, a short time to live, and fewer attempts than the storage subscription.
targetScope = 'resourceGroup'

@description('The Azure ML workspace (in this resource group).')
param mlWorkspaceName string

@description('Its Event Grid system topic: created with this name if the workspace has none.')
param systemTopicName string = 'drift-ml-job-events'

@description('Resource id of the Function App.')
param functionAppResourceId string

param functionName string = 'drift_on_job_event'

@description('Delivery schema; the app accepts both.')
@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
param eventDeliverySchema string = 'EventGridSchema'

@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 10

@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 120

param subscriptionName string = 'drift-job-status'

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: mlWorkspaceName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: workspace.location
  properties: {
    source: workspace.id
    topicType: 'Microsoft.MachineLearningServices.Workspaces'
  }
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
        'Microsoft.MachineLearningServices.RunStatusChanged'
      ]
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.runStatus'
          values: [
            'Completed'
            'Failed'
            'Canceled'
            'NotResponding'
            'Paused'
          ]
        }
        {
          operatorType: 'StringIn'
          key: 'data.runTags.drift_managed'
          values: [
            'true'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
}

output systemTopicId string = systemTopic.id
output id string = subscription.id
