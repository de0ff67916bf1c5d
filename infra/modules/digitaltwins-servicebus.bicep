// The ADT endpoint for the optional Service Bus topic. A module of its own so that, when Service
// Bus is off, nothing here is evaluated. ADT sends with its own identity: the endpoint holds no key.

param digitalTwinsName string
param digitalTwinsPrincipalId string
param namespaceName string
@description('Host name of the Service Bus namespace, e.g. sbns-x.servicebus.windows.net.')
param fullyQualifiedNamespace string
param topicName string
param endpointName string

var serviceBusDataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'

resource instance 'Microsoft.DigitalTwins/digitalTwinsInstances@2023-01-31' existing = {
  name: digitalTwinsName
}

// ADT checks it can send when the endpoint is created, so the role comes first.
module sendsToTopic './servicebus-role.bicep' = {
  name: 'role-adt-topic-sender'
  params: {
    namespaceName: namespaceName
    topicName: topicName
    principalId: digitalTwinsPrincipalId
    roleDefinitionId: serviceBusDataSender
  }
}

resource endpoint 'Microsoft.DigitalTwins/digitalTwinsInstances/endpoints@2023-01-31' = {
  parent: instance
  name: endpointName
  properties: {
    endpointType: 'ServiceBus'
    authenticationType: 'IdentityBased'
    endpointUri: 'sb://${fullyQualifiedNamespace}'
    entityPath: topicName
    identity: {
      type: 'SystemAssigned'
    }
  }
  dependsOn: [
    sendsToTopic
  ]
}

output name string = endpoint.name
