using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Tasks.Core.Control;

public static class ControlClientExtensions
{
    /// <summary>The control client and its reply consumer; call <see cref="ReceiveControlReplies"/> for the reply queue.</summary>
    public static IBusRegistrationConfigurator AddControlClient(this IBusRegistrationConfigurator bus)
    {
        bus.AddSingleton<ControlReplies>();
        bus.AddSingleton<ControlClient>();
        bus.AddConsumer<ControlReplyConsumer>().ExcludeFromConfigureEndpoints();
        return bus;
    }

    /// <summary>
    /// This host's reply queue: temporary (not durable, deleted with its last consumer), named by MassTransit for the
    /// host and process. Workers send replies to its address, which carries those settings.
    /// </summary>
    public static void ReceiveControlReplies(this IRabbitMqBusFactoryConfigurator rabbit, IBusRegistrationContext context) =>
        rabbit.ReceiveEndpoint(new TemporaryEndpointDefinition("control-replies"), configureEndpoint: e =>
        {
            e.ConfigureConsumeTopology = false;
            e.ConfigureConsumer<ControlReplyConsumer>(context);
            context.GetRequiredService<ControlReplies>().Address = e.InputAddress;
        });
}
