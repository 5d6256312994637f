// An alert when a retraining fails (issue 13.5): a scheduled log query over the one structured
// line drift writes per run (drift/durable/orchestration.py _log_report):
//   drift run report {"data_asset_version": ..., "delta_version": ..., "failed": ...,
//                     "instance_id": ..., "retrained": {<model group>: <status>}, "table": ...}
// It fires for every retraining row whose status is not Completed, Skipped or Blocked (drift's
// own "failed" rule, drift/reporting/report.py: Failed, Canceled, TimedOut, NotResponding, errors), and
// names the run (instance_id), the table (table_name) and the model group in the alert's
// dimensions. Optional e-mail: an action
// group with one e-mail receiver when alertEmail is set.
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Log Analytics workspace holding Application Insights\' AppTraces.')
param logAnalyticsId string

@description('E-mail address to notify; empty: the alert fires in Azure Monitor without a notification.')
param alertEmail string = ''

@description('Severity of the alert (0 critical .. 4 verbose).')
@minValue(0)
@maxValue(4)
param severity int = 1

// Rows of drift's run report whose status is a failure, one result per (run, group).
var failedRetrainings = '''
AppTraces
| where Message startswith "drift run report "
| extend report = parse_json(substring(Message, strlen("drift run report ")))
| mv-expand retrained = report.retrained
| extend model_group = tostring(bag_keys(retrained)[0])
| extend status = tostring(retrained[model_group])
| where status !in ("Completed", "Skipped", "Blocked")
| project TimeGenerated, instance_id = tostring(report.instance_id), table_name = tostring(report.table), data_asset_version = tostring(report.data_asset_version), model_group, status
'''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${name}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'drift'
    enabled: true
    emailReceivers: [
      {
        name: 'drift-owner'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource failedRetrainingAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: name
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'drift: a retraining failed'
    description: 'A drift run report has a retraining row that failed, timed out, was canceled or errored. The dimensions name the run (instance_id), the table (table_name) and the model group.'
    severity: severity
    enabled: true
    scopes: [
      logAnalyticsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: failedRetrainings
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'instance_id'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'table_name'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'model_group'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: empty(alertEmail) ? [] : [
        actionGroup.id
      ]
    }
  }
}

output alertId string = failedRetrainingAlert.id
