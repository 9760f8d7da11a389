using MassTransit;
using Tasks.Core.Control;

namespace Tasks.Worker.Control;

public static class ControlExtensions
{
    /// <summary>
    /// This worker's private queue on the control channel: temporary (not durable, exclusive, deleted when the worker's
    /// connection goes) and bound to the fan-out exchange, so every worker gets every command. MassTransit declares
    /// both again, and binds again, when it reconnects after the broker restarts.
    /// See docs/design.md#remote-control-a-fan-out-exchange-and-a-private-queue-per-worker-issue-27
    /// </summary>
    public static void ReceiveControlCommands(this IRabbitMqBusFactoryConfigurator rabbit, IBusRegistrationContext context) =>
        rabbit.ReceiveEndpoint(new TemporaryEndpointDefinition("control"), configureEndpoint: e =>
        {
            e.ConfigureConsumeTopology = false;
            e.Exclusive = true;
            e.Bind(ControlChannel.Exchange);
            e.ConfigureConsumer<ControlCommandConsumer>(context);
        });
}
