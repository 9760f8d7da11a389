using MassTransit;

namespace Tasks.Worker.Execution;

internal static class SendBackExtensions
{
    /// <summary>
    /// Sends <paramref name="message"/> to the queue the consumed message came from, confirmed, and mandatory (as
    /// the enqueuer publishes): a message RabbitMQ can't route is refused, not confirmed and dropped.
    /// </summary>
    public static async Task SendBackAsync<T>(this ConsumeContext context, T message) where T : class
    {
        var queue = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
        await queue.Send(message, static send =>
        {
            if (send.TryGetPayload<RabbitMqSendContext>(out var rabbit)) rabbit.Mandatory = true;
        }, context.CancellationToken);
    }
}
