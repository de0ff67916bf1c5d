// Optional time-series store: an Azure Data Explorer dev cluster whose database ingests the
// records hub. Both tables (tsi and data-history) are always created from infra/kql/*.kql, so
// switching BRIDGE_RECORD_FORMAT only moves the data connection. The same .kql files set up a
// Fabric Eventhouse (docs/deploy.md).

param clusterName string
param databaseName string
param location string
param tags object
param eventHubsNamespaceName string
param recordsHubName string
param consumerGroup string

@allowed([
  'tsi'
  'data-history'
])
param recordFormat string

@description('Principal that gets Viewer on the database; empty: none.')
param viewerPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param viewerPrincipalType string = 'User'

// Table and ingestion mapping per record format; they must match infra/kql/*.kql
// (scripts/check-infra.py checks that).
var targets = {
  tsi: {
    table: 'TwinRecords'
    mapping: 'TwinRecordsMapping'
  }
  'data-history': {
    table: 'AdtPropertyEvents'
    mapping: 'AdtPropertyEventsMapping'
  }
}

var kustoPrincipalTypes = {
  User: 'User'
  ServicePrincipal: 'App'
  Group: 'Group'
}

resource cluster 'Microsoft.Kusto/clusters@2023-08-15' = {
  name: clusterName
  location: location
  tags: tags
  sku: {
    name: 'Dev(No SLA)_Standard_E2a_v4'
    tier: 'Basic'
    capacity: 1
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.Kusto/clusters/databases@2023-08-15' = {
  parent: cluster
  name: databaseName
  location: location
  kind: 'ReadWrite'
  properties: {
    softDeletePeriod: 'P365D'
    hotCachePeriod: 'P31D'
  }
}

resource tsiSchema 'Microsoft.Kusto/clusters/databases/scripts@2023-08-15' = {
  parent: database
  name: 'tsi-schema'
  properties: {
    scriptContent: loadTextContent('../kql/tsi.kql')
    continueOnErrors: false
  }
}

resource dataHistorySchema 'Microsoft.Kusto/clusters/databases/scripts@2023-08-15' = {
  parent: database
  name: 'data-history-schema'
  properties: {
    scriptContent: loadTextContent('../kql/data-history.kql')
    continueOnErrors: false
  }
  dependsOn: [
    tsiSchema
  ]
}

module readsRecords './eventhub-role.bicep' = {
  name: 'role-adx-records-receiver'
  params: {
    namespaceName: eventHubsNamespaceName
    eventHubName: recordsHubName
    principalId: cluster.identity.principalId
    roleDefinitionId: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde' // Azure Event Hubs Data Receiver
  }
}

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: eventHubsNamespaceName
}

resource records 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = {
  parent: namespace
  name: recordsHubName
}

// One connection with a fixed name, so changing the format retargets it instead of adding a
// second reader on the same consumer group.
resource recordsConnection 'Microsoft.Kusto/clusters/databases/dataConnections@2023-08-15' = {
  parent: database
  name: 'records'
  location: location
  kind: 'EventHub'
  properties: {
    eventHubResourceId: records.id
    consumerGroup: consumerGroup
    tableName: targets[recordFormat].table
    mappingRuleName: targets[recordFormat].mapping
    // Each event body is one JSON object; MULTIJSON also accepts pretty-printed or several.
    dataFormat: 'MULTIJSON'
    compression: 'None'
    managedIdentityResourceId: cluster.id
    databaseRouting: 'Single'
  }
  dependsOn: [
    tsiSchema
    dataHistorySchema
    readsRecords
  ]
}

resource viewer 'Microsoft.Kusto/clusters/databases/principalAssignments@2023-08-15' = if (!empty(viewerPrincipalId)) {
  parent: database
  name: guid(database.id, viewerPrincipalId, 'Viewer')
  properties: {
    principalId: viewerPrincipalId
    principalType: kustoPrincipalTypes[viewerPrincipalType]
    role: 'Viewer'
    tenantId: tenant().tenantId
  }
}

output clusterUri string = cluster.properties.uri
output databaseName string = database.name
output tableName string = targets[recordFormat].table
