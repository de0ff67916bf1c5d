// The Azure Digital Twins instance and its Event Hub endpoint. Endpoints are ARM resources; event
// routes are not (they live in the ADT data plane), so scripts/adt-routes.sh creates them after
// provisioning. The optional Event Grid endpoint is in digitaltwins-eventgrid.bicep.

param name string
param location string
param tags object

param eventHubsNamespaceName string
@description('Host name of the Event Hubs namespace, e.g. evhns-x.servicebus.windows.net.')
param eventHubsFullyQualifiedNamespace string
param twinsHubName string
param eventHubEndpointName string

var eventHubsDataSender = '2b629674-e913-4c01-ae53-ef4638d8f975'

resource instance 'Microsoft.DigitalTwins/digitalTwinsInstances@2023-01-31' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publicNetworkAccess: 'Enabled'
  }
}

// ADT sends to the twins hub with its own identity, so the endpoint holds no key. The role must
// exist before the endpoint: ADT checks it can send when the endpoint is created.
module sendsToTwins './eventhub-role.bicep' = {
  name: 'role-adt-twins-sender'
  params: {
    namespaceName: eventHubsNamespaceName
    eventHubName: twinsHubName
    principalId: instance.identity.principalId
    roleDefinitionId: eventHubsDataSender
  }
}

resource eventHubEndpoint 'Microsoft.DigitalTwins/digitalTwinsInstances/endpoints@2023-01-31' = {
  parent: instance
  name: eventHubEndpointName
  properties: {
    endpointType: 'EventHub'
    authenticationType: 'IdentityBased'
    endpointUri: 'sb://${eventHubsFullyQualifiedNamespace}'
    entityPath: twinsHubName
    identity: {
      type: 'SystemAssigned'
    }
  }
  dependsOn: [
    sendsToTwins
  ]
}

output name string = instance.name
output id string = instance.id
output hostName string = instance.properties.hostName
output principalId string = instance.identity.principalId
output eventHubEndpointName string = eventHubEndpoint.name
